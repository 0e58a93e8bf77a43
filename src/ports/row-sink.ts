/** Column types the codec writes: the ClickHouse types of Shoal's tables. */
export type ColumnType = "String" | "UInt8" | "UInt64" | "Int64" | "Float64" | "Array(String)" | "Array(Float64)";

/** One column of a table. */
export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

/** The columns a table's rows are written with, in insert order (plain data: crosses threads). */
export interface RowSchema {
  readonly columns: readonly Column[];
}

/** Rows in RowBinary, in `schema`'s column order: `rows` rows over the concatenated `chunks`. */
export interface BinaryRows {
  readonly schema: RowSchema;
  readonly rows: number;
  readonly chunks: readonly Uint8Array[];
}

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
  /**
   * The writer's trace (W3C `traceparent`): the insert that carries these rows sends it to the store
   * (ClickHouse: an HTTP `traceparent` header; versions with OpenTelemetry support continue the
   * trace, 18.16 ignores it). An insert carries the first traced write's context.
   */
  readonly traceparent?: string;
}

/**
 * Durable destination of rows (ClickHouse in production). `write` resolves only once every row is
 * durable; it rejects with an error whose `retryable` flag says whether to redeliver or dead-letter.
 */
export interface RowSink {
  write(rows: RowsByTable, opts?: WriteOptions): Promise<void>;
  close(): Promise<void>;
}
