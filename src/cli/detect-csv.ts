/**
 * CSV input of `shoal detect`: one header row, a timestamp column and metric columns. Pure
 * helpers (line splitting with RFC 4180 quotes, timestamps, numbers); the command streams lines.
 */

/** Splits one CSV line into fields (double quotes enclose commas; "" is a quote). */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(",").map((f) => f.trim());
  const out: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(field);
      field = "";
    } else field += ch;
  }
  out.push(field);
  return out.map((f) => f.trim());
}

/** ISO 8601 date, optional time (space or T), optional zone (Z, ±hh:mm, ±hhmm). */
const ISO = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * A timestamp cell as ms since the epoch: ISO 8601 (`2014-04-01 00:00:00` and dates without a zone
 * are UTC), or a number (epoch seconds below 10^11, else milliseconds). Undefined when unreadable.
 */
export function parseTimestamp(cell: string): number | undefined {
  if (cell === "") return undefined;
  if (/^-?\d+(\.\d+)?$/.test(cell)) {
    const n = Number(cell);
    const ms = Math.abs(n) < 1e11 ? n * 1000 : n;
    return Number.isSafeInteger(Math.round(ms)) && ms >= 0 ? Math.round(ms) : undefined;
  }
  // ISO 8601 only: Date.parse would read other texts ("04/01/2014 10:00") in the machine's time zone.
  const m = ISO.exec(cell);
  if (m === null) return undefined;
  const ms = Date.parse(`${m[1]}${m[2] === undefined ? "T00:00" : `T${m[2]}`}${m[3] ?? "Z"}`);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** A metric cell: a finite number, undefined when empty (metric absent), NaN when not a number. */
export function parseMetric(cell: string): number | undefined {
  if (cell === "") return undefined;
  const n = Number(cell);
  return Number.isFinite(n) && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(cell) ? n : Number.NaN;
}

/** Which columns are read: the timestamp's index and each metric's (name, index); the header's width. */
export interface CsvLayout {
  readonly time: number;
  /** Fields in the header: a row with more is bad (an unquoted comma would shift its columns). */
  readonly width: number;
  readonly metrics: readonly { readonly name: string; readonly index: number }[];
}

/** The layout of a header row; throws an Error naming what is missing. */
export function layoutOf(header: readonly string[], timeColumn: string | undefined, metrics: readonly string[] | undefined): CsvLayout {
  const time = timeColumn === undefined ? 0 : header.indexOf(timeColumn);
  if (time < 0) throw new Error(`no column named ${JSON.stringify(timeColumn)} in the header (${header.join(", ")})`);
  const chosen = metrics ?? header.filter((_, i) => i !== time);
  if (chosen.length === 0) throw new Error("no metric columns: the header has only the timestamp");
  const out = chosen.map((name) => {
    const index = header.indexOf(name);
    if (index < 0 || index === time) throw new Error(`no metric column named ${JSON.stringify(name)} in the header (${header.join(", ")})`);
    return { name, index };
  });
  return { time, width: header.length, metrics: out };
}
