import type { Envelope } from "../../ports/actor-host.js";
import type { JournalReader } from "../../ports/journal-reader.js";

/** In-memory journal for unit tests: append envelopes, read them back by partition and seq. */
export class MemoryJournal implements JournalReader {
  private readonly entries: Envelope[] = [];
  private seq = 0;

  /** Append messages as one journal message (they share its stream seq); returns their envelopes. */
  append(partition: number, items: readonly { actorType: string; actorId: string; msg: { readonly type: string; readonly [k: string]: unknown } }[]): Envelope[] {
    const streamSeq = ++this.seq;
    const out = items.map((i) => ({ ...i, partition, streamSeq }));
    this.entries.push(...out);
    return out;
  }

  get lastSeq(): number {
    return this.seq;
  }

  async *read(partition: number, fromSeq: number, toSeq: number): AsyncIterable<readonly Envelope[]> {
    const sel = this.entries.filter((e) => e.partition === partition && e.streamSeq >= fromSeq && e.streamSeq <= toSeq);
    for (let i = 0; i < sel.length; i += 100) yield sel.slice(i, i + 100);
  }
}
