import type { ActorHost, BatchEffects } from "../ports/actor-host.js";
import type { EventPublisher, JournalBatch, PartitionSource } from "../ports/journal.js";
import type { RowSink } from "../ports/row-sink.js";
import type { StageObserver } from "../ports/stages.js";
import { isRetryable } from "../base/errors.js";
import { actorDeadLetter } from "../domain/dead-letter.js";
import { sleep } from "../base/clock.js";
import type { Tracing } from "../ports/tracing.js";
import { writeTraced } from "./trace-effects.js";
import type { SharedBudget } from "../base/concurrency.js";

/** Options of one partition pump. */
export interface PumpOptions {
  /** Most messages per pull (one batch crosses to the actor host at a time). */
  readonly fetchBatch: number;
  /** How long one pull waits for messages, ms. */
  readonly fetchExpiresMs: number;
  /** Batches delivered but not yet durable+acked (credit): the pump stops pulling at this many. */
  readonly maxBatchesInFlight: number;
  /**
   * Journal bytes delivered and not yet durable+acked, shared by every pump of the node: no pump
   * pulls while it is used up, so memory stays bounded however many partitions wait on a slow sink.
   */
  readonly budget?: SharedBudget;
}

/** Callbacks of a pump. */
export interface PumpHooks {
  /** A pull, delivery or sink failure (the pump goes on). */
  readonly onError?: (err: unknown) => void;
  /** After each batch is acked, in stream order, with its last stream sequence. */
  readonly onCommitted?: (partition: number, streamSeq: number) => void;
  /** Service calls the batch's turns asked for (e.g. the model gateway), once the batch is acked. */
  readonly onCalls?: (calls: BatchEffects["calls"]) => void;
  /** Where readings wait: stages `pulled`, `applied`, `durable` of each batch (its oldest message). */
  readonly stages?: StageObserver;
  /** Clock for the stages, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
  /** Where the spans of traced turns and their inserts go (docs/adr/0023-tracing.md). Default: off. */
  readonly tracing?: Tracing;
}

/** Counters of a pump. */
export interface PumpStats {
  pulled: number;
  acked: number;
  deadLettered: number;
  naks: number;
  batches: number;
}

/**
 * Moves one partition of the journal through the actor host: pull a batch, deliver it (turns run in
 * journal order), hand its rows to the sink, and ack the batch only once its rows are durable and
 * every earlier batch is acked (cumulative acks stay in order). Pulling stops while
 * `maxBatchesInFlight` batches are waiting on the sink, so a stalled sink slows the pull instead of
 * growing memory. A corrupt journal message is dead-lettered; a batch whose rows ClickHouse rejects
 * permanently is dead-lettered message by message; a retryable failure naks the batch and every
 * later in-flight batch, so nothing is acked out of order.
 */
export class PartitionPump {
  readonly stats: PumpStats = { pulled: 0, acked: 0, deadLettered: 0, naks: 0, batches: 0 };
  private running = false;
  private loop: Promise<void> | undefined;
  private tail: Promise<boolean> = Promise.resolve(true);
  private inFlight = 0;
  private slotFreed: (() => void) | undefined;

  constructor(
    private readonly source: PartitionSource,
    private readonly host: ActorHost,
    private readonly sink: RowSink,
    private readonly events: EventPublisher,
    private readonly o: PumpOptions,
    private readonly hooks: PumpHooks = {},
  ) {}

  private onError(err: unknown): void {
    this.hooks.onError?.(err);
  }

  get partition(): number {
    return this.source.partition;
  }

  /** Highest stream sequence its source has received (undefined: the source cannot tell). */
  receivedSeq(): number | undefined {
    return this.source.receivedSeq?.();
  }

  /** Deliveries its source never got (gaps in the consumer's delivery sequence; undefined: cannot tell). */
  skippedDeliveries(): number | undefined {
    return this.source.skippedDeliveries?.();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stop pulling and wait until every delivered batch is durable and acked (or nak'd). */
  async stop(): Promise<void> {
    this.running = false;
    this.slotFreed?.();
    // A pull waiting for messages returns at once (a handoff should not wait out the pull).
    this.source.interrupt?.();
    await this.loop;
    await this.tail;
    await this.source.close();
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      if (this.inFlight >= this.o.maxBatchesInFlight) {
        await new Promise<void>((r) => (this.slotFreed = r));
        continue;
      }
      const budget = this.o.budget;
      if (budget !== undefined && !budget.available()) {
        await new Promise<void>((r) => {
          this.slotFreed = r;
          budget.onGiven(r);
        });
        continue;
      }
      let batch: JournalBatch;
      try {
        batch = await this.source.next(this.o.fetchBatch, this.o.fetchExpiresMs);
        backoff = 100;
      } catch (e) {
        this.onError(e);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      if (batch.messages.length === 0) continue;
      this.o.budget?.take(bytesOf(batch));
      this.stats.pulled += batch.messages.length;
      this.stats.batches++;
      this.stage("pulled", batch);
      await this.process(batch);
    }
  }

  /**
   * Deliver one batch and chain its commit. Never throws: whatever fails (the host, a sink that
   * throws instead of rejecting, a dead-letter publish) naks the batch and the loop goes on.
   */

  /** Hand the batch to the host (it decodes where the actors live); undecodable messages are dead-lettered with the reason. */
  private async apply(batch: JournalBatch): Promise<{ effects: BatchEffects; corrupt: Promise<void>[] }> {
    const effects = await this.host.deliverJournal(batch.partition, batch.messages);
    const corrupt = effects.corrupt.map((c) => {
      const m = batch.messages[c.index]!;
      return this.deadLetter("corrupt_journal_message", c.reason, m.subject, m.data);
    });
    return { effects, corrupt };
  }

  private async process(batch: JournalBatch): Promise<void> {
    let effects: BatchEffects;
    let durable: Promise<void>;
    try {
      let corrupt: Promise<void>[];
      ({ effects, corrupt } = await this.apply(batch));
      this.stage("applied", batch);
      const dls = effects.deadLetters.map(async (d) => {
        await this.events.deadLetter(actorDeadLetter(d));
        this.stats.deadLettered++;
      });
      const rows = writeTraced(this.hooks.tracing, effects, (r, o) => this.sink.write(r, o)) ?? Promise.resolve();
      durable = Promise.all([rows, ...dls, ...corrupt]).then(() => undefined);
    } catch (e) {
      this.onError(e);
      this.enqueue(batch, Promise.reject(e), [], []);
      return;
    }
    this.enqueue(batch, durable, effects.events, effects.calls);
  }

  /** Chain the batch behind earlier ones: ack in journal order, nak everything after a failure. */
  private enqueue(batch: JournalBatch, durable: Promise<void>, events: BatchEffects["events"], calls: BatchEffects["calls"]): void {
    // With nothing in flight the chain starts afresh (a failure does not poison later batches).
    const prev = this.inFlight === 0 ? Promise.resolve(true) : this.tail;
    this.inFlight++;
    this.tail = Promise.allSettled([prev, durable]).then(async ([p, d]) => {
      try {
        const prevOk = p.status === "fulfilled" && p.value;
        if (prevOk && d.status === "fulfilled") {
          for (const ev of events) this.events.event(ev.subject, ev.data);
          batch.ack();
          this.stats.acked += batch.messages.length;
          this.stage("durable", batch);
          this.committed(batch);
          if (calls.length > 0) this.hooks.onCalls?.(calls);
          return true;
        }
        const err = d.status === "rejected" ? d.reason : undefined;
        if (prevOk && err !== undefined && !isRetryable(err)) {
          // Permanently rejected rows: dead-letter each message of the batch with the reason, then ack.
          const code = (err as { code?: unknown }).code;
          await Promise.all(batch.messages.map((m) => this.deadLetter(typeof code === "string" ? code : "rejected", (err as Error).message, m.subject, m.data)));
          batch.ack();
          this.stats.acked += batch.messages.length;
          this.committed(batch);
          return true;
        }
        if (err !== undefined) this.onError(err);
        batch.nak(250);
        this.stats.naks += batch.messages.length;
        // The actors applied these messages but their effects are not durable: forget their state so
        // the redelivery is applied again (from the last durable snapshot) instead of skipped.
        await this.host.resetPartition?.(batch.partition);
        return false;
      } catch (e) {
        this.onError(e);
        batch.nak(250);
        return false;
      } finally {
        this.o.budget?.give(bytesOf(batch));
        this.inFlight--;
        this.slotFreed?.();
        this.slotFreed = undefined;
      }
    });
  }

  private stage(stage: "pulled" | "applied" | "durable", batch: JournalBatch): void {
    const stored = batch.messages[0]?.storedAtMs;
    if (this.hooks.stages === undefined || stored === undefined) return;
    this.hooks.stages(stage, (this.hooks.now ?? Date.now)() - stored);
  }

  private committed(batch: JournalBatch): void {
    const last = batch.messages[batch.messages.length - 1];
    if (last !== undefined) this.hooks.onCommitted?.(batch.partition, last.streamSeq);
  }

  private async deadLetter(code: string, reason: string, source: string, payload: Uint8Array): Promise<void> {
    await this.events.deadLetter({ stage: "runtime", code, reason, source, payload });
    this.stats.deadLettered++;
  }
}

function bytesOf(batch: JournalBatch): number {
  let n = 0;
  for (const m of batch.messages) n += m.data.length;
  return n;
}
