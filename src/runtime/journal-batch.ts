import type { CorruptMessage, Envelope, JournalBytes } from "../ports/actor-host.js";
import type { Columns } from "./effects.js";

/**
 * Decodes one journal message into the envelope of the actor it is for. Throws on bytes that do
 * not decode (the message is then reported as corrupt, never applied).
 */
export type JournalDecoder = (data: Uint8Array, streamSeq: number, partition: number) => Envelope;

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

/** Messages of a packed batch (views into its buffer, no copy). */
export function unpackJournal(p: PackedJournal): JournalBytes[] {
  const n = p.seqs.length;
  const out = new Array<JournalBytes>(n);
  for (let i = 0; i < n; i++) out[i] = { data: p.bytes.subarray(p.offsets[i]!, p.offsets[i + 1]!), streamSeq: p.seqs[i]! };
  return out;
}

/** Decode a partition's journal messages into columns; undecodable ones are listed, not applied. */
export function decodeJournal(partition: number, messages: readonly JournalBytes[], decode: JournalDecoder): { cols: Columns; corrupt: CorruptMessage[] } {
  const n = messages.length;
  const types: string[] = [];
  const ids: string[] = [];
  const parts: number[] = [];
  const seqs: number[] = [];
  const msgs: { readonly type: string }[] = [];
  const corrupt: CorruptMessage[] = [];
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    let e: Envelope;
    try {
      e = decode(m.data, m.streamSeq, partition);
    } catch (err) {
      corrupt.push({ index: i, reason: `stream seq ${m.streamSeq}: ${(err as Error).message}` });
      continue;
    }
    types.push(e.actorType);
    ids.push(e.actorId);
    parts.push(e.partition);
    seqs.push(e.streamSeq);
    msgs.push(e.msg);
  }
  return { cols: { types, ids, parts, seqs, msgs }, corrupt };
}
