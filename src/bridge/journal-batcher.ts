import type { Clock, TimerHandle } from "../ports/clock.js";
import type { Reading } from "../ports/reading.js";
import { ReadingBatchWriter } from "../domain/reading-wire-write.js";
import { journalSubject } from "../domain/subjects.js";

/**
 * Publishes one journal message; resolves on its PubAck (`duplicate`: JetStream had it already).
 * `traceparent`: the trace context of the batch's first traced reading, for a `traceparent` header
 * (each reading's own context is in its record; docs/adr/0023-tracing.md).
 */
export type JournalPublish = (subject: string, data: Uint8Array, msgId: string, traceparent?: string) => Promise<{ seq: number; duplicate: boolean }>;

/** One MQTT message whose readings are in batches: acknowledged when the last of them is durable. */
export interface AckToken {
  /** Readings of the message not yet durable. */
  left: number;
  /** The MQTT message: `ack()` sends its PUBACK. */
  readonly msg: Ackable;
}

/** Something acknowledged once (an MQTT message: its PUBACK). */
export interface Ackable {
  ack(): void;
}

/** Options of the journal batcher. */
export interface JournalBatcherOptions {
  /**
   * How long the first reading of a partition's batch waits for more, ms. 0: until the end of the
   * current event-loop turn (what arrived in one socket read goes together).
   */
  readonly windowMs: number;
  /** Most readings per journal message. */
  readonly maxReadings: number;
  /** Most bytes per journal message. */
  readonly maxBytes: number;
  /** Prefix of the batches' Nats-Msg-Id, unique per process start (e.g. `<node>-<boot id>`). */
  readonly msgIdPrefix: string;
  readonly clock: Clock;
  /** Called after each publish settled (readings released, acknowledged or not). */
  readonly onSettled?: () => void;
  /** Called on each PubAck with the ms since the message's first reading was added. */
  readonly onDurable?: (ms: number) => void;
}

/** Counters of the batcher. */
export interface BatcherStats {
  /** Journal messages published (PubAck received). */
  batches: number;
  /** Readings in them. */
  readings: number;
  /** Readings of publishes JetStream reported as duplicates (a re-sent batch). */
  duplicate: number;
  /** Publishes that failed (their MQTT messages stay unacknowledged: the broker redelivers). */
  publishFailures: number;
}

interface OpenBatch {
  readonly partition: number;
  /** The journal message so far: each reading encoded into it as it is added. */
  readonly wire: ReadingBatchWriter;
  readonly tokens: AckToken[];
  /** When its first reading was added (clock ms). */
  readonly openedAt: number;
  /** The first traced reading's trace context. */
  trace: string | undefined;
}

/**
 * Packs the readings of each partition that arrive within `windowMs` into one journal message (a
 * shoal.v1.ReadingBatch on `shoal.readings.<p>.batch`), publishes it, and on its PubAck counts down
 * the ack tokens of the MQTT messages its readings came from. One message per partition and window
 * instead of one per reading: JetStream's cost is per message (ADR 0009).
 *
 * One publish per partition in flight: a partition's next batch is sent once the previous one has
 * its PubAck (meanwhile it keeps filling, up to `maxReadings`/`maxBytes`; full ones queue in order).
 * The journal thus holds each partition's readings in the order they were batched even when a
 * publish is lost and sent again (with several in flight, a re-sent batch landed after later ones
 * and the actors saw those readings late); the partitions still publish side by side.
 */
export class JournalBatcher {
  readonly stats: BatcherStats = { batches: 0, readings: 0, duplicate: 0, publishFailures: 0 };
  private readonly open = new Map<number, OpenBatch>();
  /** Partitions with a publish in flight. */
  private readonly sending = new Set<number>();
  /** Full batches of a partition waiting for its publish in flight, in order. */
  private readonly waiting = new Map<number, OpenBatch[]>();
  private timer: TimerHandle | null = null;
  private immediate = false;
  private msgNo = 0;
  private inPublish = 0;
  private queued = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly o: JournalBatcherOptions,
    private readonly publish: JournalPublish,
  ) {}

  /** Readings accepted and not yet durable (in open batches or being published). */
  get held(): number {
    return this.queued + this.inPublish;
  }

  /**
   * Add one validated reading of partition `p` (encoded into its batch now); `token` is counted
   * down when it is durable.
   */
  add(p: number, reading: Reading, token: AckToken): void {
    let b = this.open.get(p);
    // A full batch goes; the reading opens the next one (`add` writes it unless the bytes would pass).
    if (b !== undefined && (b.tokens.length >= this.o.maxReadings || !b.wire.add(reading, this.o.maxBytes))) {
      this.send(b);
      b = undefined;
    }
    if (b === undefined) {
      b = { partition: p, wire: new ReadingBatchWriter(), tokens: [], openedAt: this.o.clock.now(), trace: undefined };
      this.open.set(p, b);
      this.arm();
      b.wire.add(reading);
    }
    if (reading.trace !== undefined && b.trace === undefined) b.trace = reading.trace;
    b.tokens.push(token);
    this.queued++;
  }

  /** Publish every open batch now (a partition with a publish in flight sends its batch on that PubAck). */
  flush(): void {
    if (this.timer !== null) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
    for (const b of [...this.open.values()]) if (!this.sending.has(b.partition)) this.send(b);
  }

  /** Resolves once nothing is held (every reading durable or failed). */
  idle(): Promise<void> {
    this.flush();
    if (this.held === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private arm(): void {
    if (this.timer !== null || this.immediate) return;
    if (this.o.windowMs > 0) {
      this.timer = this.o.clock.setTimeout(() => {
        this.timer = null;
        this.flush();
      }, this.o.windowMs);
      return;
    }
    this.immediate = true;
    setImmediate(() => {
      this.immediate = false;
      this.flush();
    });
  }

  /** Seal `b` (no more readings join it) and publish it, or queue it behind its partition's publish. */
  private send(b: OpenBatch): void {
    this.open.delete(b.partition);
    if (this.sending.has(b.partition)) {
      const q = this.waiting.get(b.partition);
      if (q === undefined) this.waiting.set(b.partition, [b]);
      else q.push(b);
      return;
    }
    this.publishNow(b);
  }

  /** The partition's publish settled: its next batch goes (a queued full one, else the open one). */
  private sendNext(p: number): void {
    this.sending.delete(p);
    const q = this.waiting.get(p);
    if (q !== undefined) {
      const b = q.shift()!;
      if (q.length === 0) this.waiting.delete(p);
      return this.publishNow(b);
    }
    const b = this.open.get(p);
    if (b === undefined) return;
    this.open.delete(p);
    this.publishNow(b);
  }

  private publishNow(b: OpenBatch): void {
    this.sending.add(b.partition);
    const n = b.tokens.length;
    this.queued -= n;
    this.inPublish += n;
    const data = b.wire.bytes();
    this.publish(journalSubject(b.partition), data, `${this.o.msgIdPrefix}-${++this.msgNo}`, b.trace).then(
      (res) => {
        this.stats.batches++;
        this.stats.readings += n;
        if (res.duplicate) this.stats.duplicate += n;
        this.o.onDurable?.(this.o.clock.now() - b.openedAt);
        for (const t of b.tokens) if (--t.left === 0) t.msg.ack();
        this.sendNext(b.partition);
        this.settled(n);
      },
      () => {
        this.stats.publishFailures++;
        this.sendNext(b.partition);
        this.settled(n);
      },
    );
  }

  private settled(n: number): void {
    this.inPublish -= n;
    if (this.held === 0) for (const w of this.idleWaiters.splice(0)) w();
    this.o.onSettled?.();
  }
}
