/**
 * Reads the NAB corpus (data files + combined windows) and detector result files in NAB's layout.
 * This is the only part of src/nab that touches the file system.
 */
import { readFileSync, readdirSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sweepFile } from "./sweeper.js";
import type { SweptFile, WindowSpan } from "./sweeper.js";

/** One NAB data file with its labels. */
export interface NabFile {
  /** `<category>/<name>.csv`, the key used by `labels/combined_windows.json`. */
  readonly relPath: string;
  readonly category: string;
  /** File name without the `.csv` extension. */
  readonly name: string;
  /** Timestamps exactly as written in the data file. */
  readonly timestamps: readonly string[];
  /** Timestamps in ms since epoch (UTC). */
  readonly tsMs: Float64Array;
  /** Values as written in the file (kept verbatim for the results files). */
  readonly rawValues: readonly string[];
  readonly values: Float64Array;
  /** Anomaly windows as inclusive row indices. */
  readonly windows: readonly WindowSpan[];
  /** 1 inside a window, 0 outside. */
  readonly labels: Uint8Array;
  /** Profile-independent scoring weights of each row. */
  readonly swept: SweptFile;
}

/**
 * Parses a NAB timestamp (`YYYY-MM-DD HH:MM:SS[.ffffff]`, UTC) to ms since epoch.
 * @throws RangeError naming the text when it does not match.
 */
export function parseNabTimestamp(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(text.trim());
  if (m === null) throw new RangeError(`timestamp "${text}" must look like YYYY-MM-DD HH:MM:SS[.ffffff]`);
  const ms = m[7] === undefined ? 0 : Math.round(Number(`0.${m[7]}`) * 1000);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + ms;
}

/** Splits a small CSV (no quoting, as in NAB) into header and rows of cells. */
export function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const header = (lines.shift() ?? "").split(",");
  return { header, rows: lines.map((l) => l.split(",")) };
}

/** Converts window limits (timestamps) into inclusive row ranges of a file. */
export function windowsToSpans(tsMs: Float64Array, limits: readonly (readonly [string, string])[]): WindowSpan[] {
  const spans: WindowSpan[] = [];
  for (const [a, b] of limits) {
    const t1 = parseNabTimestamp(a);
    const t2 = parseNabTimestamp(b);
    let start = 0;
    while (start < tsMs.length && tsMs[start]! < t1) start++;
    let end = start;
    while (end + 1 < tsMs.length && tsMs[end + 1]! <= t2) end++;
    if (start < tsMs.length && tsMs[start]! <= t2) spans.push({ start, end });
  }
  spans.sort((x, y) => x.start - y.start);
  return spans;
}

/** Reads every data file of a NAB checkout (`<root>/data`, `<root>/labels/combined_windows.json`). */
export function readNabCorpus(root: string): NabFile[] {
  const windowsJson = JSON.parse(readFileSync(join(root, "labels", "combined_windows.json"), "utf8")) as Record<string, [string, string][]>;
  const files: NabFile[] = [];
  const dataDir = join(root, "data");
  for (const category of readdirSync(dataDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    for (const fileName of readdirSync(join(dataDir, category)).filter((f) => f.endsWith(".csv")).sort()) {
      const relPath = `${category}/${fileName}`;
      const limits = windowsJson[relPath];
      if (limits === undefined) continue;
      const { header, rows } = parseCsv(readFileSync(join(dataDir, category, fileName), "utf8"));
      const ti = header.indexOf("timestamp");
      const vi = header.indexOf("value");
      if (ti < 0 || vi < 0) throw new RangeError(`${relPath}: header must contain timestamp and value`);
      const timestamps = rows.map((r) => r[ti]!);
      const rawValues = rows.map((r) => r[vi]!);
      const tsMs = Float64Array.from(timestamps, parseNabTimestamp);
      const values = Float64Array.from(rawValues, Number);
      const windows = windowsToSpans(tsMs, limits);
      const labels = new Uint8Array(rows.length);
      for (const w of windows) labels.fill(1, w.start, w.end + 1);
      files.push({
        relPath,
        category,
        name: fileName.slice(0, -4),
        timestamps,
        tsMs,
        rawValues,
        values,
        windows,
        labels,
        swept: sweepFile(rows.length, windows),
      });
    }
  }
  return files;
}

/** Path of a results file in NAB's layout: `<dir>/<category>/<detector>_<file>.csv`. */
export function resultsPath(dir: string, detector: string, file: Pick<NabFile, "category" | "name">): string {
  return join(dir, file.category, `${detector}_${file.name}.csv`);
}

/** Writes one results file (timestamp, value, anomaly_score, label). */
export function writeResultsFile(dir: string, detector: string, file: NabFile, scores: ArrayLike<number>): void {
  mkdirSync(join(dir, file.category), { recursive: true });
  const lines = ["timestamp,value,anomaly_score,label"];
  for (let i = 0; i < file.timestamps.length; i++) lines.push(`${file.timestamps[i]},${file.rawValues[i]},${scores[i]},${file.labels[i]}`);
  writeFileSync(resultsPath(dir, detector, file), lines.join("\n") + "\n");
}

/**
 * Parses a results CSV's `anomaly_score` column, checking it has one row per data row with the
 * same timestamps.
 */
export function parseResultsCsv(text: string, file: NabFile): Float64Array {
  const { header, rows } = parseCsv(text);
  const si = header.indexOf("anomaly_score");
  const ti = header.indexOf("timestamp");
  if (si < 0) throw new RangeError(`results for ${file.relPath}: header must contain anomaly_score`);
  if (rows.length !== file.timestamps.length) throw new RangeError(`results for ${file.relPath}: ${rows.length} rows, expected ${file.timestamps.length}`);
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    if (ti >= 0 && parseNabTimestamp(rows[i]![ti]!) !== file.tsMs[i]) throw new RangeError(`results for ${file.relPath}: row ${i + 1} timestamp ${rows[i]![ti]} differs from the data`);
    out[i] = Number(rows[i]![si]);
  }
  return out;
}

/** Reads a detector's results directory in NAB's layout for every corpus file. */
export function readResultsDir(dir: string, detector: string, corpus: readonly NabFile[]): Float64Array[] {
  return corpus.map((f) => parseResultsCsv(readFileSync(resultsPath(dir, detector, f), "utf8"), f));
}
