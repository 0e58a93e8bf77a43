import type { ActorAddress } from "../ports/actor.js";
import type { BatchEffects, Envelope, OutCall, OutDeadLetter, OutEvent } from "../ports/actor-host.js";
import type { ActorLogic } from "../ports/actor.js";
import type { SpanRecord } from "../ports/tracing.js";
import { RowBinaryWriter, schemaKey } from "../domain/row-binary.js";
import { type Row, type RowBatch } from "../ports/row-sink.js";
import { concatRows, rowBatch, rowBatchOf } from "../domain/row-batch.js";
import { RuntimeOptionsError } from "./errors.js";

/** A message for an actor hosted by another shard; the host routes it. */
export interface OutSend {
  readonly to: ActorAddress;
  readonly msg: { readonly type: string };
}

/**
 * Effects accumulated by a shard for one batch: row objects by table, plus cross-shard sends. The
 * host turns them into BatchEffects (`shardEffects`) when the batch is done.
 */
export class EffectsAcc {
  readonly rows = new Map<string, Row[]>();
  readonly events: OutEvent[] = [];
  readonly calls: OutCall[] = [];
  readonly deadLetters: OutDeadLetter[] = [];
  readonly sends: OutSend[] = [];
  /** Spans of the traced turns (usually none). */
  readonly spans: SpanRecord[] = [];

  get empty(): boolean {
    return this.rows.size === 0 && this.events.length === 0 && this.calls.length === 0 && this.deadLetters.length === 0 && this.sends.length === 0 && this.spans.length === 0;
  }
}

/** BatchEffects of a shard plus the cross-shard sends its turns made (a worker's reply). */
export interface ShardEffects extends BatchEffects {
  readonly sends: OutSend[];
}

/** A RowBinary writer per table with a declared schema (one set per thread). */
export type RowEncoders = ReadonlyMap<string, RowBinaryWriter>;

/**
 * The writers for the tables `logics` declare (`ActorLogic.rowSchemas`). Throws when two logics
 * declare one table with different columns.
 */
export function rowEncodersFor(logics: readonly Pick<ActorLogic<never, never>, "type" | "rowSchemas">[]): RowEncoders {
  const out = new Map<string, RowBinaryWriter>();
  for (const l of logics) {
    for (const [table, schema] of Object.entries(l.rowSchemas ?? {})) {
      const had = out.get(table);
      if (had !== undefined && schemaKey(had.schema) !== schemaKey(schema)) {
        throw new RuntimeOptionsError(`actor type ${l.type} declares table ${table} with other columns than another actor type of this host`);
      }
      if (had === undefined) out.set(table, new RowBinaryWriter(schema));
    }
  }
  return out;
}

/**
 * The effects of a finished batch in port form. With `encoders`, rows of tables with a schema
 * become RowBinary here (in a worker thread, so the main thread only passes bytes on); other rows,
 * and all rows without `encoders`, stay objects.
 */
export function shardEffects(acc: EffectsAcc, encoders: RowEncoders | null): ShardEffects {
  const rows = new Map<string, RowBatch>();
  for (const [table, objects] of acc.rows) {
    const enc = encoders?.get(table);
    if (enc === undefined) rows.set(table, rowBatchOf(objects));
    else {
      const { binary, rejected } = enc.encode(objects);
      rows.set(table, rowBatch(binary, rejected));
    }
  }
  const fx: ShardEffects = { rows, events: acc.events, calls: acc.calls, deadLetters: acc.deadLetters, sends: acc.sends };
  return acc.spans.length === 0 ? fx : { ...fx, spans: acc.spans };
}

/** Plain BatchEffects, empty. */
export function emptyEffects(): BatchEffects {
  return { rows: new Map(), events: [], calls: [], deadLetters: [] };
}

/** Append `src` into `dst` (rows by table keep their order). */
export function mergeEffects(dst: BatchEffects, src: BatchEffects): void {
  for (const [table, rows] of src.rows) {
    const d = dst.rows.get(table);
    dst.rows.set(table, d === undefined ? rows : concatRows(d, rows));
  }
  for (const e of src.events) dst.events.push(e);
  for (const c of src.calls) dst.calls.push(c);
  for (const d of src.deadLetters) dst.deadLetters.push(d);
  if (src.spans !== undefined && src.spans.length > 0) {
    if (dst.spans === undefined) dst.spans = [...src.spans];
    else for (const s of src.spans) dst.spans.push(s);
  }
}

/**
 * A batch of envelopes in columns (structured-clone friendly: five arrays instead of one object
 * per message). `seqs`/`parts` may be typed arrays.
 */
export interface Columns {
  readonly types: readonly string[];
  readonly ids: readonly string[];
  readonly parts: ArrayLike<number>;
  readonly seqs: ArrayLike<number>;
  readonly msgs: readonly { readonly type: string }[];
}

/** Envelopes to columns. */
export function toColumns(batch: readonly Envelope[]): Columns {
  const n = batch.length;
  const types = new Array<string>(n);
  const ids = new Array<string>(n);
  const parts = new Int32Array(n);
  const seqs = new Float64Array(n);
  const msgs = new Array<{ readonly type: string }>(n);
  for (let i = 0; i < n; i++) {
    const e = batch[i]!;
    types[i] = e.actorType;
    ids[i] = e.actorId;
    parts[i] = e.partition;
    seqs[i] = e.streamSeq;
    msgs[i] = e.msg;
  }
  return { types, ids, parts, seqs, msgs };
}

/** Stage name of runtime dead letters (subject `shoal.dlq.runtime`). */
export const DLQ_STAGE = "runtime";
