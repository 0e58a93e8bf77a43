import type { Row } from "./row-sink.js";

/**
 * Rows as the store accepts them, live (the row log's messages as they are appended: readings with
 * their scores, analyses, device events). For watchers; nothing durable: a listener that is not
 * subscribed misses rows, and rows come at most once.
 */
export interface RowFeed {
  /**
   * Calls `listener` with the rows of every accepted insert from now on, by table, until the
   * returned stop is called. With `only`, the feed may leave out (and need not decode) rows of
   * other tables and rows whose `device_id` fails `only.devices`; it may still give more.
   */
  subscribe(listener: (table: string, rows: readonly Row[]) => void, only?: RowInterest): () => void;
}

/** What a RowFeed listener reads: some tables, and of them the rows of some devices. */
export interface RowInterest {
  readonly tables: ReadonlySet<string>;
  /** Whether the rows of a device are wanted (asked for every row read, so cheap: a set lookup). */
  readonly devices: (deviceId: string) => boolean;
}

/** One row log entry read back by a durable reader. */
export interface LoggedTableRows {
  readonly table: string;
  readonly rows: readonly Row[];
  /** When the log stored it, ms since the epoch. */
  readonly atMs: number;
}

/** A running durable reader; `stop` waits for the entry in hand. */
export interface RowLogReader {
  stop(): Promise<void>;
}

/**
 * The row log read durably (a projection's change feed: the vector indexer). Every entry is given
 * to `handle` at least once from where this reader's name left off; an entry is done when `handle`
 * resolves. A rejection with a retryable error (src/base/errors.ts) redelivers it after a backoff;
 * any other rejection goes to `poison` (which must dead-letter it) and the entry is done.
 */
export interface DurableRowFeed {
  start(handle: (entry: LoggedTableRows) => Promise<void>, poison: (entry: LoggedTableRows, err: unknown) => Promise<void>): RowLogReader;
  /** Entries not yet done, and whether the log dropped entries this reader never handled (it fell behind the log's retention). */
  backlog(): Promise<{ pending: number; lostBefore: number }>;
}
