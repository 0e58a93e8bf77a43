import { readRows, schemaKey, type BinaryRows } from "./row-binary.js";

export type { BinaryRows, Column, ColumnType, RowSchema } from "./row-binary.js";

/** A row for a time-series table: column name to value. */
export type Row = Record<string, string | number | boolean | null | readonly number[] | readonly string[] | Record<string, number>>;

/**
 * The rows of one table from one batch (or several merged): exactly `length` rows, held in
 * ClickHouse's RowBinary (`binary`, for tables whose actors declare a schema: see
 * `ActorLogic.rowSchemas`), as objects, or both. Hosts encode rows where the actors run (a worker
 * thread's core), so the main thread neither structured-clones row objects nor serialises them;
 * the sink inserts the bytes as they are. Plain data (crosses threads as is). Use `rowObjects` to
 * read every row back as an object (tests, dead letters). Order: the rows of `binary`, then `objects`.
 */
export interface RowBatch {
  /** Number of rows: `binary.rows` + `objects.length`. */
  readonly length: number;
  /** Rows in RowBinary; null when none. */
  readonly binary: BinaryRows | null;
  /** Rows not encoded (no schema for the table, or a row that does not fit it). */
  readonly objects: readonly Row[];
}

/** Rows grouped by table. */
export type RowsByTable = ReadonlyMap<string, RowBatch>;

/** How urgently rows are wanted durable. */
export interface WriteOptions {
  /**
   * No journal acknowledgement waits for these rows (rows of reply and timer turns): they go with
   * the next insert of urgent rows, or after a longer while, instead of starting an insert of
   * their own (every insert costs the database a part).
   */
  readonly lazy?: boolean;
}

/**
 * Durable destination of rows (ClickHouse in production). `write` resolves only once every row is
 * durable; it rejects with an error whose `retryable` flag says whether to redeliver or dead-letter.
 */
export interface RowSink {
  write(rows: RowsByTable, opts?: WriteOptions): Promise<void>;
  close(): Promise<void>;
}

/** Rows kept as objects. */
export function rowBatchOf(objects: readonly Row[]): RowBatch {
  return { length: objects.length, binary: null, objects };
}

/** Encoded rows plus the ones left as objects. */
export function rowBatch(binary: BinaryRows | null, objects: readonly Row[]): RowBatch {
  return { length: (binary?.rows ?? 0) + objects.length, binary, objects };
}

/** `a`'s rows then `b`'s (binary rows of another schema than `a`'s are decoded to objects). */
export function concatRows(a: RowBatch, b: RowBatch): RowBatch {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  let binary = a.binary ?? b.binary;
  let extra: readonly Row[] = [];
  if (a.binary !== null && b.binary !== null) {
    if (a.binary.schema === b.binary.schema || schemaKey(a.binary.schema) === schemaKey(b.binary.schema)) {
      binary = { schema: a.binary.schema, rows: a.binary.rows + b.binary.rows, chunks: [...a.binary.chunks, ...b.binary.chunks] };
    } else {
      binary = a.binary;
      extra = readRows(b.binary);
    }
  }
  const objects = extra.length > 0 ? [...a.objects, ...extra, ...b.objects] : a.objects.length === 0 ? b.objects : b.objects.length === 0 ? a.objects : [...a.objects, ...b.objects];
  return { length: a.length + b.length, binary, objects };
}

/** Every row of `b` as an object (decodes `binary`: for tests and dead letters, not the hot path). */
export function rowObjects(b: RowBatch | undefined): Row[] {
  if (b === undefined) return [];
  const out = b.binary === null ? [] : readRows(b.binary);
  for (const r of b.objects) out.push(r);
  return out;
}
