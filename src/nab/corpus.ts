/**
 * Reads the NAB corpus (data files + combined windows) and detector result files in NAB's layout,
 * from a directory or from a (gzipped) tar archive such as the copy carried in the repository
 * (`test/fixtures/nab`, see its README). This is the only part of src/nab that touches the file
 * system; the `parse*` functions work on texts already in memory.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sweepFile } from "./sweeper.js";
import type { SweptFile, WindowSpan } from "./sweeper.js";
import { readTar } from "./tar.js";

const WINDOWS = "labels/combined_windows.json";

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

/** Parses one NAB data file (CSV text) with its window limits from `combined_windows.json`. */
export function parseNabFile(relPath: string, text: string, limits: readonly (readonly [string, string])[]): NabFile {
  const slash = relPath.indexOf("/");
  const category = relPath.slice(0, slash);
  const fileName = relPath.slice(slash + 1);
  const { header, rows } = parseCsv(text);
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
  return {
    relPath,
    category,
    name: fileName.replace(/\.csv$/, ""),
    timestamps,
    tsMs,
    rawValues,
    values,
    windows,
    labels,
    swept: sweepFile(rows.length, windows),
  };
}

/**
 * Builds the corpus from texts already in memory (no file system): `windowsJson` is the text of
 * `labels/combined_windows.json`, `readData` returns the text of `data/<relPath>`. `relPaths` are
 * the candidate `<category>/<name>.csv` keys; only those with windows are kept, ordered by
 * category, then file name.
 */
export function parseNabCorpus(windowsJson: string, relPaths: Iterable<string>, readData: (relPath: string) => string): NabFile[] {
  const windows = JSON.parse(windowsJson) as Record<string, [string, string][]>;
  const keys = [...relPaths]
    .filter((k) => /^[^/]+\/[^/]+\.csv$/.test(k) && Object.hasOwn(windows, k))
    .map((k) => k.split("/") as [string, string])
    .sort(([c1, f1], [c2, f2]) => (c1 < c2 ? -1 : c1 > c2 ? 1 : f1 < f2 ? -1 : f1 > f2 ? 1 : 0))
    .map(([c, f]) => `${c}/${f}`);
  return keys.map((k) => parseNabFile(k, readData(k), windows[k]!));
}

/** True when `source` names an archive (`.tar`, `.tar.gz`, `.tgz`, or any regular file) rather than a directory. */
export function isArchive(source: string): boolean {
  return /\.(tar|tar\.gz|tgz)$/i.test(source) || (existsSync(source) && statSync(source).isFile());
}

/**
 * Reads every data file of a NAB corpus. `source` is either a NAB checkout in its own layout
 * (`<root>/data/<category>/<file>.csv`, `<root>/labels/combined_windows.json`) or a (gzipped) tar
 * archive holding that layout, such as {@link defaultNabCorpus}; an archive is read in memory,
 * nothing is unpacked to disk. The archive may put the layout under one top folder.
 */
export function readNabCorpus(source: string): NabFile[] {
  if (isArchive(source)) return parseNabArchive(readTar(readFileSync(source)), source);
  const dataDir = join(source, "data");
  const relPaths = readdirSync(dataDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(dataDir, d.name)).map((f) => `${d.name}/${f}`));
  return parseNabCorpus(readFileSync(join(source, "labels", "combined_windows.json"), "utf8"), relPaths, (rel) =>
    readFileSync(join(dataDir, ...rel.split("/")), "utf8"),
  );
}

/** Parses a corpus from the entries of a tar archive (see {@link readTar}); `label` names it in errors. */
export function parseNabArchive(entries: ReadonlyMap<string, Uint8Array>, label = "archive"): NabFile[] {
  const windowsKey = [...entries.keys()].find((k) => k === WINDOWS || k.endsWith(`/${WINDOWS}`));
  if (windowsKey === undefined) throw new RangeError(`${label}: no ${WINDOWS} in the archive`);
  const root = windowsKey.slice(0, -WINDOWS.length); // "" or "<top>/"
  const dataPrefix = `${root}data/`;
  const relPaths = [...entries.keys()].filter((k) => k.startsWith(dataPrefix)).map((k) => k.slice(dataPrefix.length));
  const text = (key: string): string => {
    const body = entries.get(key);
    if (body === undefined) throw new RangeError(`${label}: no ${key} in the archive`);
    return new TextDecoder().decode(body);
  };
  return parseNabCorpus(text(windowsKey), relPaths, (rel) => text(dataPrefix + rel));
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

/**
 * Reads a detector's results for every corpus file from a (gzipped) tar archive whose entries end
 * in `<category>/<detector>_<file>.csv` (any leading folders, e.g. `windowedGaussian/`, as in
 * NAB's `results/<detector>/` tree). Read in memory; nothing is unpacked to disk.
 */
export function readResultsArchive(archive: string, detector: string, corpus: readonly NabFile[]): Float64Array[] {
  const byTail = new Map<string, Uint8Array>();
  for (const [key, body] of readTar(readFileSync(archive))) byTail.set(key.split("/").slice(-2).join("/"), body);
  const dec = new TextDecoder();
  return corpus.map((f) => {
    const body = byTail.get(`${f.category}/${detector}_${f.name}.csv`);
    if (body === undefined) throw new RangeError(`${archive}: no results of ${detector} for ${f.relPath}`);
    return parseResultsCsv(dec.decode(body), f);
  });
}

/** Reads a detector's results from a directory in NAB's layout or from an archive (see {@link readResultsArchive}). */
export function readResults(source: string, detector: string, corpus: readonly NabFile[]): Float64Array[] {
  return isArchive(source) ? readResultsArchive(source, detector, corpus) : readResultsDir(source, detector, corpus);
}

/**
 * Path of a file of the NAB copy carried in the repository (`test/fixtures/nab/<name>`), found
 * from this module's location: src/nab is two levels below the repository root (three when run
 * from a build under dist/).
 */
export function nabFixturePath(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "..", ".."), join(here, "..", "..", "..")].map((root) => join(root, "test", "fixtures", "nab", name));
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

/** The NAB corpus carried in the repository: `test/fixtures/nab/nab-corpus.tar.gz` (NAB ea702d7, MIT). */
export function defaultNabCorpus(): string {
  return nabFixturePath("nab-corpus.tar.gz");
}

/**
 * NAB's published Windowed Gaussian output for that corpus, carried in the repository:
 * `test/fixtures/nab/windowedGaussian-results.tar.gz` (read with {@link readResultsArchive}, detector
 * `windowedGaussian`).
 */
export function defaultNabReference(): string {
  return nabFixturePath("windowedGaussian-results.tar.gz");
}
