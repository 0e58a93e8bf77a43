import { validateDeviceId, validateDeviceType, validateLabels } from "./validate.js";

/**
 * Bulk provisioning from CSV (DeviceService.ImportDevices, `shoal devices import`): the whole file
 * is parsed and validated before anything is created, so one bad row rejects the import with the
 * line to fix.
 *
 * Format: RFC 4180 (comma-separated, `"` quoting with `""` for a quote, a quoted field may hold
 * commas, quotes and line breaks; CRLF or LF), UTF-8 with an optional BOM. The first non-blank
 * line is the header: the columns `id` (required), `type` and `labels` (optional), in any order.
 * A row may leave trailing columns out (empty). `labels` is `k=v;k=v` (a value may contain `=`
 * but not `;`); spaces around ids, types, keys and values are dropped. Blank lines are ignored.
 */

/** Most devices one file may register. */
export const MAX_CSV_ROWS = 100_000;

/** One device of the file, with the line its row starts on. */
export interface DeviceCsvRow {
  readonly line: number;
  readonly id: string;
  readonly type: string;
  readonly labels: Record<string, string>;
}

/** The rows of a good file, or the first problem: its line (1-based) and what is wrong. */
export type DeviceCsvResult = { readonly ok: true; readonly rows: DeviceCsvRow[] } | { readonly ok: false; readonly line: number; readonly message: string };

const COLUMNS = ["id", "type", "labels"] as const;
type Column = (typeof COLUMNS)[number];

/** Parse and validate a device CSV file (see the module comment for the format): its rows, or its first problem. */
export function parseDeviceCsv(text: string): DeviceCsvResult {
  const checked = checkDeviceCsv(text, 1);
  const first = checked.problems[0];
  return first === undefined ? { ok: true, rows: checked.rows } : { ok: false, line: first.line, message: first.message };
}

/** A problem of one line of a device CSV file. */
export interface DeviceCsvProblem {
  readonly line: number;
  readonly message: string;
}

/** Every good row and every problem of a file (see {@link checkDeviceCsv}). */
export interface DeviceCsvCheck {
  /** The rows that passed (a file with problems must not be imported: the server refuses it whole). */
  readonly rows: DeviceCsvRow[];
  /** The problems in line order, at most the number asked for. */
  readonly problems: DeviceCsvProblem[];
  /** True when reading stopped early: a malformed quote, a bad header, too many rows or too many problems. */
  readonly stopped: boolean;
}

/**
 * Like {@link parseDeviceCsv}, but reads on past a bad row so an editor can show every bad row at
 * once (the console's import dialog validates with it before sending; pure, runs in a browser).
 * Stops at what makes the rest unreadable (a malformed quote, a bad header, more than
 * {@link MAX_CSV_ROWS} rows) or after `maxProblems` problems. An id twice is a problem on its
 * second line. The first problem is the one parseDeviceCsv reports.
 */
export function checkDeviceCsv(text: string, maxProblems = 100): DeviceCsvCheck {
  let columns: Column[] | undefined;
  const rows: DeviceCsvRow[] = [];
  const problems: DeviceCsvProblem[] = [];
  const done = (stopped: boolean): DeviceCsvCheck => ({ rows, problems, stopped });
  const problem = (line: number, message: string): boolean => {
    problems.push({ line, message });
    return problems.length >= maxProblems;
  };
  const lineOf = new Map<string, number>();
  for (const rec of records(text.startsWith("\uFEFF") ? text.slice(1) : text)) {
    if ("error" in rec) {
      problem(rec.line, rec.error);
      return done(true);
    }
    const { line, fields } = rec;
    if (fields.length === 1 && !rec.quoted && fields[0]!.trim() === "") continue; // blank line
    if (columns === undefined) {
      const header = parseHeader(fields);
      if (typeof header === "string") {
        problem(line, header);
        return done(true);
      }
      columns = header;
      continue;
    }
    if (fields.length > columns.length) {
      if (problem(line, `${fields.length} fields but the header has ${columns.length} (${columns.join(",")}); quote a field that contains a comma`)) return done(true);
      continue;
    }
    if (rows.length === MAX_CSV_ROWS) {
      problem(line, `more than ${MAX_CSV_ROWS} devices in one file`);
      return done(true);
    }
    const cell = (c: Column) => {
      const i = columns!.indexOf(c);
      return i < 0 ? "" : (fields[i] ?? "");
    };
    const id = cell("id").trim();
    const type = cell("type").trim();
    const labels = parseLabels(cell("labels"));
    const bad = validateDeviceId(id) ?? validateDeviceType(type) ?? (typeof labels === "string" ? labels : validateLabels(labels));
    const first = lineOf.get(id);
    if (bad !== undefined || first !== undefined) {
      if (problem(line, bad ?? `id ${JSON.stringify(id)} is also on line ${first}`)) return done(true);
      continue;
    }
    lineOf.set(id, line);
    rows.push({ line, id, type, labels: labels as Record<string, string> });
  }
  if (columns === undefined) problem(1, "no header: the first line must name the columns (id,type,labels)");
  return done(false);
}

/** Rows as device CSV text, every field quoted (what ImportDevices takes: `shoal devices import` and the console send files in chunks of these). */
export function formatDeviceCsv(rows: ReadonlyArray<Pick<DeviceCsvRow, "id" | "type" | "labels">>): string {
  return `id,type,labels\n${rows.map((r) => `${csvField(r.id)},${csvField(r.type)},${csvField(Object.entries(r.labels).map(([k, v]) => `${k}=${v}`).join(";"))}\n`).join("")}`;
}

/** A CSV field, quoted (RFC 4180: a quote inside is doubled). */
export function csvField(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

/** Rows per ImportDevices call: each new device costs a scrypt hash, so calls stay small and a failure part way loses little (`shoal devices import`, the console). */
export const IMPORT_CHUNK_ROWS = 20;

function parseHeader(fields: readonly string[]): Column[] | string {
  const cols: Column[] = [];
  for (const f of fields) {
    const name = f.trim().toLowerCase();
    if (!(COLUMNS as readonly string[]).includes(name)) return `header: unknown column ${JSON.stringify(f.trim())} (the columns are id, type, labels; the first line must be the header)`;
    if (cols.includes(name as Column)) return `header: column ${JSON.stringify(name)} appears twice`;
    cols.push(name as Column);
  }
  if (!cols.includes("id")) return "header: no id column (the first line must be the header: id,type,labels)";
  return cols;
}

/** `k=v;k=v` → labels, or a message naming what is wrong. */
function parseLabels(s: string): Record<string, string> | string {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const part of s.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq < 0) return `labels: ${JSON.stringify(clip(part.trim()))} is not key=value`;
    const k = part.slice(0, eq).trim();
    if (Object.hasOwn(out, k)) return `labels: key ${JSON.stringify(clip(k))} appears twice`;
    out[k] = part.slice(eq + 1).trim();
  }
  return { ...out };
}

type CsvRecord = { line: number; fields: string[]; quoted: boolean } | { line: number; error: string };

/** RFC 4180 records of `text`, each with the line it starts on. Stops at the first malformed one. */
function* records(text: string): Generator<CsvRecord> {
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let quoted = false;
    for (;;) {
      // One field, starting at i.
      let value = "";
      if (text[i] === '"') {
        quoted = true;
        const opened = line;
        i++;
        for (;;) {
          if (i >= n) {
            yield { line: opened, error: "a quoted field is not closed (missing \")" };
            return;
          }
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === "\n" || (c === "\r" && text[i + 1] !== "\n")) line++;
          value += c;
          i++;
        }
        if (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
          yield { line, error: "a closing quote must end its field (write \"\" for a quote inside a quoted field)" };
          return;
        }
      } else {
        const from = i;
        while (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
          if (text[i] === '"') {
            yield { line, error: "a quote inside an unquoted field (quote the whole field and write \"\" for the quote)" };
            return;
          }
          i++;
        }
        value = text.slice(from, i);
      }
      fields.push(value);
      if (i < n && text[i] === ",") {
        i++;
        continue;
      }
      break;
    }
    // End of record: CRLF, LF, CR or the end of the text.
    if (text[i] === "\r") i++;
    if (text[i] === "\n") i++;
    line++;
    yield { line: start, fields, quoted };
  }
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
