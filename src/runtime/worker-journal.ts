import { CombinedRequestCrashedError } from "./errors.js";
import type { PackedJournal } from "./journal-batch.js";
import type { JournalResult } from "./worker-protocol.js";
import type { Slot, WorkerChannel } from "./worker-slot.js";

interface Queued {
  readonly packed: PackedJournal;
  readonly resolve: (r: JournalResult) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Journal batches on their way to the workers. The batches of every partition of a worker pulled in
 * one event-loop turn cross in one message (a postMessage costs ~15 µs of the main thread however
 * small the batch: with 64 partitions it was a tenth of it, ADR 0009); each still runs as its own
 * submit and gets its own effects. A combined message whose worker died is split: each batch runs
 * alone again, so only a batch that kills workers by itself fails.
 */
export class JournalBatches {
  private readonly queue = new Map<Slot, Queued[]>();

  constructor(private readonly channel: WorkerChannel) {}

  /** Run one partition's packed batch on `slot`'s worker, with the others of this turn. */
  run(slot: Slot, packed: PackedJournal): Promise<JournalResult> {
    return new Promise<JournalResult>((resolve, reject) => {
      const queued = this.queue.get(slot);
      if (queued !== undefined) return void queued.push({ packed, resolve, reject });
      this.queue.set(slot, [{ packed, resolve, reject }]);
      if (this.queue.size === 1) setImmediate(() => this.send());
    });
  }

  private send(): void {
    const bySlot = [...this.queue];
    this.queue.clear();
    for (const [slot, items] of bySlot) {
      this.channel.request(slot, { t: "journal", requestId: 0, packed: items.map((i) => i.packed) }).then(
        (r) => items.forEach((it, k) => it.resolve(r.results![k]!)),
        (err: unknown) => {
          if (!(err instanceof CombinedRequestCrashedError)) return items.forEach((it) => it.reject(err));
          for (const it of items) {
            this.channel.request(slot, { t: "journal", requestId: 0, packed: [it.packed] }).then((r) => it.resolve(r.results![0]!), it.reject);
          }
        },
      );
    }
  }
}
