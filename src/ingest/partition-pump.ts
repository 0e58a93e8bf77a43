import type { ActorHost, BatchEffects, Envelope } from "../ports/actor-host.js";
import type { EventPublisher, JournalBatch, PartitionSource } from "../ports/journal.js";
import type { RowSink } from "../ports/row-sink.js";
import { journalEnvelope } from "./envelopes.js";
import { journalEnvelopes } from "../runtime/journal-batch.js";
import { isRetryable } from "../errors/shoal-error.js";
import { actorDeadLetter } from "../domain/dead-letter.js";

/** Options of one partition pump. */
export interface PumpOptions {
  /** Most messages per pull (one batch crosses to the actor host at a time). */
  readonly fetchBatch: number;
  /** How long one pull waits for messages, ms. */
  readonly fetchExpiresMs: number;
  /** Batches delivered but not yet durable+acked (credit): the pump stops pulling at this many. */
  readonly maxBatchesInFlight: number;
}

/** Callbacks of a pump. */
export interface PumpHooks {
  /** A pull, delivery or sink failure (the pump goes on). */
  readonly onError?: (err: unknown) => void;
  /** After each batch is acked, in stream order, with its last stream sequence. */
  readonly onCommitted?: (partition: number, streamSeq: number) => void;
  /** Service calls the batch's turns asked for (e.g. the model gateway), once the batch is acked. */
  readonly onCalls?: (calls: BatchEffects["calls"]) => void;
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
      this.stats.pulled += batch.messages.length;
      this.stats.batches++;
      await this.process(batch);
    }
  }

  /**
   * Hand the batch to the host: undecoded when it decodes where the actors live (worker threads),
   * else decoded here. Undecodable messages are dead-lettered with the reason.
   */
  private async apply(batch: JournalBatch): Promise<{ effects: BatchEffects; corrupt: Promise<void>[] }> {
    const corrupt: Promise<void>[] = [];
    const bad = (i: number, reason: string) => {
      const m = batch.messages[i]!;
      corrupt.push(this.deadLetter("corrupt_journal_message", reason, m.subject, m.data));
    };
    if (this.host.deliverJournal !== undefined) {
      const effects = await this.host.deliverJournal(batch.partition, batch.messages);
      for (const c of effects.corrupt) bad(c.index, c.reason);
      return { effects, corrupt };
    }
    const envelopes: Envelope[] = [];
    batch.messages.forEach((m, i) => {
      try {
        for (const e of journalEnvelopes(journalEnvelope, m.data, m.streamSeq, batch.partition)) envelopes.push(e);
      } catch (e) {
        bad(i, `stream seq ${m.streamSeq}: ${(e as Error).message}`);
      }
    });
    return { effects: await this.host.deliver(envelopes), corrupt };
  }

  private async process(batch: JournalBatch): Promise<void> {
    let effects: BatchEffects;
    let corrupt: Promise<void>[];
    try {
      ({ effects, corrupt } = await this.apply(batch));
    } catch (e) {
      this.onError(e);
      this.enqueue(batch, Promise.reject(e), [], []);
      return;
    }
    const dls = effects.deadLetters.map(async (d) => {
      await this.events.deadLetter(actorDeadLetter(d));
      this.stats.deadLettered++;
    });
    const durable = effects.rows.size > 0 ? this.sink.write(effects.rows) : Promise.resolve();
    this.enqueue(batch, Promise.all([durable, ...dls, ...corrupt]).then(() => undefined), effects.events, effects.calls);
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
        this.inFlight--;
        this.slotFreed?.();
        this.slotFreed = undefined;
      }
    });
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
