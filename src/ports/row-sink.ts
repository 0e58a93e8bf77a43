/** A row for a time-series table: column name to value. */
export type Row = Record<string, string | number | boolean | null | readonly number[] | readonly string[] | Record<string, number>>;

/** Rows grouped by table. */
export type RowsByTable = ReadonlyMap<string, readonly Row[]>;

/**
 * Durable destination of rows (ClickHouse in production). `write` resolves only once every row is
 * durable; it rejects with an error whose `retryable` flag says whether to redeliver or dead-letter.
 */
export interface RowSink {
  write(rows: RowsByTable): Promise<void>;
  close(): Promise<void>;
}
