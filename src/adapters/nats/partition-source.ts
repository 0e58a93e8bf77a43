import { jetstream, type Consumer, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { JournalBatch, PartitionSource } from "../../ports/journal.js";
import { partitionConsumerName } from "../../domain/subjects.js";
import { sleep, systemClock } from "../../base/clock.js";
import type { TimerHandle } from "../../ports/clock.js";

/** Longest a source's close waits for the client to stop its pull, ms. */
const CLOSE_WAIT_MS = 2000;

/**
 * Life of one pull request, ms. The client asks for idle heartbeats every half of it and gives the
 * pull up once two are missed, and the source pulls again at once: on a JetStream cluster that is
 * how a pull parked on a consumer leader that was SIGKILLed moves to the new leader (elected 4–9 s
 * later on nats-server 2.9.10). Measured on a 3-node harness cluster: at 5 s the first re-pull came
 * ~7 s after the kill and a failed check cost 5 s more (one run resumed after 19 s); at 2 s the pull
 * resumed 1–4 s after the new leader answered. The cost is one pull request per idle partition
 * every 2 s.
 */
const PULL_EXPIRES_MS = 2000;

/**
 * One pull's life: PULL_EXPIRES_MS ± 25 % (`random` in [0, 1)). A node's 64 partition pulls start
 * together and, at a fixed life, expire and are renewed together every 2 s; under overload that
 * lockstep came with 1–3 s in which the journal delivered nothing to any of them (their heartbeats
 * missed at once, then the backlog in one burst). Spread out, no second of rows fell below a
 * quarter of the mean in six 60 s runs at 2× capacity, against 7 of 9 runs before
 * (docs/adr/0009-batched-journal.md).
 */
export function pullExpiresMs(random: number): number {
  return Math.round(PULL_EXPIRES_MS * (0.75 + 0.5 * random));
}

/**
 * How long after its life, with nothing received meanwhile, a pull that has not ended is left to
 * end by itself while the next one starts, ms. Under load nats-server 2.9.10 ended pulls without
 * the client hearing of it (no message, status or heartbeat after them), and the client gave such a
 * pull up only after two missed idle heartbeats (half a life each), so its partition received
 * nothing for up to another whole life: at 15,000 readings/s ~3 pulls a second, and 1 % of the
 * readings waited 2.1–3.7 s (docs/adr/0009-batched-journal.md). The overdue pull is not closed: a
 * server that is behind may still deliver on it (closing it then lost deliveries at 150,000
 * readings/s: gaps, partitions restarted from their ack floor); its messages come before the next
 * pull's (the server serves a consumer's pulls in order) and are taken as they come.
 */
const PULL_OVERDUE_MS = 250;

/** A pull ended by the client after two idle heartbeats missed: pulled again, not reported as a failure. */
function missedHeartbeats(e: unknown): boolean {
  return e instanceof Error && e.message === "heartbeats missed";
}

/** Timeout of the consumer's API requests, ms; the client's default is 5 s. */
const API_TIMEOUT_MS = 2000;
/** Waits between failed pulls (consumer gone, no responders), ms. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

/**
 * PartitionSource on a durable JetStream pull consumer with explicit acks (a nak'd message never
 * gets acknowledged implicitly by a later ack, as it would with ack policy All).
 *
 * Flow control: the source asks the journal only for what it has room for. It holds at most
 * `pullBatch` messages, received or requested: one pull at a time, for `pullBatch` less what
 * waits in its buffer, and none while the buffer is full. A pump that stops taking (its sink is down
 * or slow) therefore stops the pulls, and the journal keeps the backlog on disk. Before, the
 * client's `consume()` pulled again as soon as messages arrived, whether or not anything took them:
 * during a 180 s ClickHouse outage at 7,500 readings/s `shoal up` buffered every message the
 * consumers' max_ack_pending allowed (20,000 per partition) and its memory grew ~7 MB/s, with no
 * end but that (docs/adr/0009-batched-journal.md).
 *
 * Messages are handed out in batches of what has arrived, so a batch never waits to fill up. (An
 * overdue pull left to end by itself, PULL_OVERDUE_MS, may still bring what it asked for beside
 * the next pull: up to twice `pullBatch` for a moment, in the rare case that it does.)
 */
export class JetStreamPartitionSource implements PartitionSource {
  private buf: JsMsg[] = [];
  /** When each buffered message arrived, or last told the journal it is in progress (ms). */
  private bufAt: number[] = [];
  /** Batches handed out and not yet acked or nak'd (held by the pump), with the same time. */
  private readonly outstanding = new Map<JsMsg[], number>();
  private progressTimer: TimerHandle | undefined;
  private wake: (() => void) | undefined;
  private roomFreed: (() => void) | undefined;
  private current: ConsumerMessages | undefined;
  /** Overdue pulls left to end by themselves (see PULL_OVERDUE_MS), closed with the source. */
  private readonly lingering = new Set<ConsumerMessages>();
  private loop: Promise<void> = Promise.resolve();
  private closed = false;
  /** A pull that failed since the last `next`: reported by it once (the pump logs and backs off). */
  private failure: unknown;
  private received = 0;
  private lastDelivery = 0;
  private skipped = 0;
  private lastReceivedAt = 0;

  private constructor(
    readonly partition: number,
    private readonly consumer: Consumer,
    private readonly pullBatch: number,
    /**
     * Messages held this long — in the buffer, or handed out and not yet acked — send an
     * in-progress ack (+WPI), and again after as long, ms: a third of the consumer's ack_wait, so
     * what a pump holds while its sink is down is not redelivered behind its back
     * (docs/adr/0009-batched-journal.md, decision 9).
     */
    private readonly progressEveryMs: number,
  ) {}

  static async create(nc: NatsConnection, stream: string, partition: number, pullBatch: number): Promise<JetStreamPartitionSource> {
    const consumer = await jetstream(nc, { timeout: API_TIMEOUT_MS }).consumers.get(stream, partitionConsumerName(partition));
    const ackWaitMs = Number((await consumer.info(true)).config.ack_wait ?? 30e9) / 1e6;
    const src = new JetStreamPartitionSource(partition, consumer, Math.max(1, pullBatch), Math.max(100, Math.floor(ackWaitMs / 3)));
    src.loop = src.pull();
    src.armProgress();
    return src;
  }

  /** Every `progressEveryMs`, messages held that long send an in-progress ack (+WPI). */
  private armProgress(): void {
    this.progressTimer = systemClock.setTimeout(() => {
      const now = systemClock.now();
      for (let i = 0; i < this.buf.length; i++) {
        if (now - this.bufAt[i]! < this.progressEveryMs) continue;
        this.buf[i]!.working();
        this.bufAt[i] = now;
      }
      for (const [raw, at] of this.outstanding) {
        if (now - at < this.progressEveryMs) continue;
        for (const m of raw) m.working();
        this.outstanding.set(raw, now);
      }
      if (!this.closed) this.armProgress();
    }, this.progressEveryMs);
  }

  /** Pull while there is room, one pull request at a time; a failed pull is retried with a backoff. */
  private async pull(): Promise<void> {
    let retryMs = 0;
    while (!this.closed) {
      const room = this.pullBatch - this.buf.length;
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.roomFreed = resolve));
        this.roomFreed = undefined;
        continue;
      }
      try {
        const life = pullExpiresMs(Math.random());
        const messages = await this.consumer.fetch({ max_messages: room, expires: life });
        this.current = messages;
        if (this.closed) {
          await messages.close().catch(() => undefined);
          break;
        }
        const taken = this.take(messages);
        const overdue = this.overdue(life);
        const late = await Promise.race([taken.then(() => false), overdue.late]).finally(overdue.cancel);
        if (late) {
          // Left to end by itself (its messages still taken), while the next pull starts.
          this.lingering.add(messages);
          void taken.then(
            () => this.lingering.delete(messages),
            (e: unknown) => {
              this.lingering.delete(messages);
              if (missedHeartbeats(e)) return;
              if (!this.closed) this.failure = e;
              this.wake?.();
            },
          );
          continue;
        }
        await taken;
        retryMs = 0;
      } catch (e) {
        if (this.closed) break;
        // Two idle heartbeats missed (a busy process, or a consumer leader that died): pull again at
        // once, as the client's consume() did by itself. Not a failure to report.
        if (missedHeartbeats(e)) continue;
        this.failure = e;
        this.wake?.();
        retryMs = Math.min(Math.max(RETRY_MIN_MS, retryMs * 2), RETRY_MAX_MS);
        await sleep(retryMs);
      } finally {
        this.current = undefined;
      }
    }
  }

  /** Takes a pull's messages as they come; resolves when the pull ends. */
  private async take(messages: ConsumerMessages): Promise<void> {
    for await (const m of messages) {
      this.lastReceivedAt = systemClock.now();
      this.receive(m);
    }
  }

  /**
   * Resolves true once `life` + PULL_OVERDUE_MS have passed with nothing received for
   * PULL_OVERDUE_MS, checked after the event loop has read what already reached the socket (a
   * check phase, after I/O); never resolves otherwise (the pull's end wins the race).
   */
  private overdue(life: number): { late: Promise<boolean>; cancel: () => void } {
    let timer: TimerHandle | undefined;
    let cancelled = false;
    const late = new Promise<boolean>((resolve) => {
      const check = () => {
        if (cancelled || this.closed) return;
        const quiet = systemClock.now() - this.lastReceivedAt;
        if (quiet < PULL_OVERDUE_MS) timer = systemClock.setTimeout(check, PULL_OVERDUE_MS - quiet);
        else setImmediate(() => (cancelled ? undefined : systemClock.now() - this.lastReceivedAt >= PULL_OVERDUE_MS ? resolve(true) : check()));
      };
      timer = systemClock.setTimeout(check, life + PULL_OVERDUE_MS);
    });
    return {
      late,
      cancel: () => {
        cancelled = true;
        if (timer !== undefined) systemClock.clearTimeout(timer);
      },
    };
  }

  private receive(m: JsMsg): void {
    if (m.seq > this.received) this.received = m.seq;
    const ds = m.info.deliverySequence;
    if (this.lastDelivery > 0 && ds > this.lastDelivery + 1) this.skipped += ds - this.lastDelivery - 1;
    this.lastDelivery = ds;
    this.buf.push(m);
    this.bufAt.push(systemClock.now());
    this.wake?.();
  }

  async next(max: number, expiresMs: number): Promise<JournalBatch> {
    if (this.buf.length === 0 && this.failure === undefined && !this.closed) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => resolve(), expiresMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
    if (this.buf.length === 0 && this.failure !== undefined) {
      const e = this.failure;
      this.failure = undefined;
      throw e;
    }
    const n = Math.min(this.buf.length, max);
    const raw = this.buf.splice(0, n);
    // Held on from the oldest notice of its messages (the journal's ack_wait runs on from there).
    const at = this.bufAt.splice(0, n).reduce((a, b) => Math.min(a, b), Infinity);
    if (raw.length > 0) {
      this.roomFreed?.();
      this.outstanding.set(raw, at);
    }
    return {
      partition: this.partition,
      messages: raw.map((m) => ({ data: m.data, streamSeq: m.seq, deliveryCount: m.info.deliveryCount, subject: m.subject, storedAtMs: m.info.timestampNanos / 1e6 })),
      ack: () => {
        this.outstanding.delete(raw);
        deferAcks(raw);
      },
      nak: (delayMs?: number) => {
        this.outstanding.delete(raw);
        for (const m of raw) m.nak(delayMs);
      },
    };
  }

  interrupt(): void {
    this.wake?.();
  }

  receivedSeq(): number {
    return this.received;
  }

  skippedDeliveries(): number {
    return this.skipped;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.progressTimer !== undefined) systemClock.clearTimeout(this.progressTimer);
    this.wake?.();
    this.roomFreed?.();
    for (const m of this.lingering) void m.close().catch(() => undefined);
    const closed = this.current?.close().catch(() => undefined);
    await Promise.race([Promise.all([closed, this.loop]), sleep(CLOSE_WAIT_MS)]);
  }
}

/**
 * Acks of the batches committed in one event-loop turn, sent together at its end: the NATS client
 * writes its buffer once per microtask round, and each batch commits in a round of its own (a
 * write system call each, a visible share of the runtime's CPU). An ack sent a turn later changes
 * nothing: the message is durable and acknowledged in order either way (ADR 0009).
 */
let ackQueue: JsMsg[][] = [];
function deferAcks(msgs: JsMsg[]): void {
  if (ackQueue.length === 0) setImmediate(flushAcks);
  ackQueue.push(msgs);
}
function flushAcks(): void {
  const q = ackQueue;
  ackQueue = [];
  for (const msgs of q) for (const m of msgs) m.ack();
}
