import type { CorruptMessage, Envelope, EnvelopeSink, JournalBytes, JournalDecoder } from "../ports/actor-host.js";
import type { Columns } from "./effects.js";

export type { EnvelopeSink, JournalDecoder } from "../ports/actor-host.js";

/**
 * Journal messages of one partition packed for a thread crossing: one byte buffer plus offsets, so
 * posting a batch to a worker copies bytes instead of cloning one object graph per reading.
 */
export interface PackedJournal {
  readonly partition: number;
  readonly bytes: Uint8Array;
  /** n + 1 offsets into `bytes`: message i is bytes[offsets[i], offsets[i + 1]). */
  readonly offsets: Int32Array;
  readonly seqs: Float64Array;
}

/** Pack `messages` (in stream order) for a worker. */
export function packJournal(partition: number, messages: readonly JournalBytes[]): PackedJournal {
  const n = messages.length;
  const offsets = new Int32Array(n + 1);
  const seqs = new Float64Array(n);
  let size = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = size;
    size += messages[i]!.data.length;
  }
  offsets[n] = size;
  const bytes = new Uint8Array(size);
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    bytes.set(m.data, offsets[i]!);
    seqs[i] = m.streamSeq;
  }
  return { partition, bytes, offsets, seqs };
}

/** Decode a partition's journal messages into columns; undecodable ones are listed, not applied. */
export function decodeJournal(partition: number, messages: readonly JournalBytes[], decode: JournalDecoder): { cols: Columns; corrupt: CorruptMessage[] } {
  const out = new ColumnBuilder(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    out.add(i, m.streamSeq, partition, decode, m.data, 0, m.data.length);
  }
  return out.done();
}

/** `decodeJournal` of a packed batch, reading each message in place (no view or object per message). */
export function decodePackedJournal(p: PackedJournal, decode: JournalDecoder): { cols: Columns; corrupt: CorruptMessage[] } {
  const n = p.seqs.length;
  const out = new ColumnBuilder(n);
  for (let i = 0; i < n; i++) out.add(i, p.seqs[i]!, p.partition, decode, p.bytes, p.offsets[i]!, p.offsets[i + 1]!);
  return out.done();
}

/** Most envelopes a column is sized for up front (past it, it grows as it fills). */
const PRESIZE_MAX = 16_384;

class ColumnBuilder {
  // Sized for one envelope per message before filling: grown from empty, each column was copied
  // ~log2(n) times per batch (86 bytes per reading at 1,000 one-reading messages per batch).
  private readonly types: string[];
  private readonly ids: string[];
  private readonly parts: number[];
  private readonly seqs: number[];
  private readonly msgs: { readonly type: string }[];
  private n = 0;
  private readonly corrupt: CorruptMessage[] = [];
  private partition = 0;
  private streamSeq = 0;
  private readonly emit: EnvelopeSink = (actorType, actorId, msg) => {
    const i = this.n++;
    this.types[i] = actorType;
    this.ids[i] = actorId;
    this.parts[i] = this.partition;
    this.seqs[i] = this.streamSeq;
    this.msgs[i] = msg;
  };

  constructor(messages: number) {
    const cap = Math.min(messages, PRESIZE_MAX);
    this.types = new Array<string>(cap);
    this.ids = new Array<string>(cap);
    this.parts = new Array<number>(cap);
    this.seqs = new Array<number>(cap);
    this.msgs = new Array<{ readonly type: string }>(cap);
  }

  add(index: number, streamSeq: number, partition: number, decode: JournalDecoder, data: Uint8Array, start: number, end: number): void {
    const before = this.n;
    this.partition = partition;
    this.streamSeq = streamSeq;
    try {
      decode(data, streamSeq, partition, start, end, this.emit);
    } catch (err) {
      // What the message emitted before it failed is overwritten by the next message's envelopes.
      this.n = before;
      this.corrupt.push({ index, reason: `stream seq ${streamSeq}: ${(err as Error).message}` });
    }
  }

  done(): { cols: Columns; corrupt: CorruptMessage[] } {
    for (const col of [this.types, this.ids, this.parts, this.seqs, this.msgs] as unknown[][]) col.length = this.n;
    return { cols: { types: this.types, ids: this.ids, parts: this.parts, seqs: this.seqs, msgs: this.msgs }, corrupt: this.corrupt };
  }
}

/** The envelopes of one journal message (replay and tests; the hot path decodes into columns). */
export function journalEnvelopes(decode: JournalDecoder, data: Uint8Array, streamSeq: number, partition: number): Envelope[] {
  const out: Envelope[] = [];
  decode(data, streamSeq, partition, 0, data.length, (actorType, actorId, msg) => out.push({ actorType, actorId, partition, streamSeq, msg }));
  return out;
}
