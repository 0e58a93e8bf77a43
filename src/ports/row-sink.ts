/** A row for a time-series table: column name to value. */
export type Row = Record<string, string | number | boolean | null | readonly number[] | readonly string[] | Record<string, number>>;

/**
 * The rows of one table from one batch (or several merged): exactly `length` rows, held as
 * JSONEachRow text, as objects, or both. Worker-thread hosts serialise their rows in the worker
 * (`text`), so the main thread neither structured-clones row objects nor stringifies them again;
 * in-thread hosts keep objects. Plain data (crosses threads as is). Use `rowText` for the
 * JSONEachRow of all rows and `rowObjects` to read them back as objects (tests, dead letters).
 * Order: the rows of `text`, then `objects` (a batch from one host has only one of the two).
 */
export interface RowBatch {
  /** Number of rows: lines of `text` + `objects.length`. */
  readonly length: number;
  /** JSONEachRow: one JSON object per row, each followed by "\n"; "" when none. */
  readonly text: string;
  /** Rows not serialised. */
  readonly objects: readonly Row[];
}

/** Rows grouped by table. */
export type RowsByTable = ReadonlyMap<string, RowBatch>;

/**
 * Durable destination of rows (ClickHouse in production). `write` resolves only once every row is
 * durable; it rejects with an error whose `retryable` flag says whether to redeliver or dead-letter.
 */
export interface RowSink {
  write(rows: RowsByTable): Promise<void>;
  close(): Promise<void>;
}

const NO_ROWS: readonly Row[] = [];

/** Rows kept as objects. */
export function rowBatchOf(objects: readonly Row[]): RowBatch {
  return { length: objects.length, text: "", objects };
}

/** Rows serialised as JSONEachRow (one `JSON.stringify` per row, as the ClickHouse client does). */
export function serialiseRows(objects: readonly Row[]): RowBatch {
  let text = "";
  for (let i = 0; i < objects.length; i++) text += JSON.stringify(objects[i]) + "\n";
  return { length: objects.length, text, objects: NO_ROWS };
}

/** `a`'s rows then `b`'s. */
export function concatRows(a: RowBatch, b: RowBatch): RowBatch {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const objects = a.objects.length === 0 ? b.objects : b.objects.length === 0 ? a.objects : [...a.objects, ...b.objects];
  return { length: a.length + b.length, text: a.text + b.text, objects };
}

/** Every row of `b` as JSONEachRow (each row followed by "\n"). */
export function rowText(b: RowBatch): string {
  return b.objects.length === 0 ? b.text : b.text + serialiseRows(b.objects).text;
}

/** Every row of `b` as an object (parses `text`: for tests and dead letters, not the hot path). */
export function rowObjects(b: RowBatch | undefined): Row[] {
  if (b === undefined) return [];
  const out: Row[] = [];
  if (b.text !== "") for (const line of b.text.split("\n")) if (line !== "") out.push(JSON.parse(line) as Row);
  for (const r of b.objects) out.push(r);
  return out;
}
