/**
 * The row log: every insert the store (ClickHouse) accepted, kept for a while in a durable,
 * replicated log (the SHOAL_ROWS stream), so the store can be repaired after it lost acknowledged
 * inserts (a power loss drops a database's unsynced parts). Rows are kept exactly as inserted
 * (RowBinary bytes or JSONEachRow text), so a repaired row is identical, scores included.
 * docs/adr/0012-row-log-repair.md.
 */

/** The encoded rows of one table from one insert (or a part of one, split to fit a message). */
export interface RowLogEntry {
  readonly table: string;
  readonly format: "RowBinary" | "JSONEachRow";
  /** Column names in the order of the encoded rows (RowBinary); empty for JSONEachRow. */
  readonly columns: readonly string[];
  readonly rows: number;
  /** The encoded rows, concatenated in order. */
  readonly chunks: readonly Uint8Array[];
}

/** An entry read back, with when it was logged. */
export interface LoggedRows extends RowLogEntry {
  /** When the log stored it (ms since the epoch). */
  readonly atMs: number;
}

/** Where inserts are logged and read back from. */
export interface RowLog {
  /** Largest entry (bytes of rows) the log takes in one piece; bigger ones must be split first. */
  readonly maxEntryBytes: number;
  /** Durably log the entries (resolves once stored; retries on its own while the log is unavailable). */
  append(entries: readonly RowLogEntry[]): Promise<void>;
  /**
   * Entries logged in [fromMs, untilMs], in log order. `all`: every writer's entries, not only this
   * node's (what `shoal repair` reads).
   */
  read(fromMs: number, untilMs: number, opts?: { all?: boolean }): AsyncIterable<LoggedRows>;
}
