/**
 * `shoal detect`: users' own CSV files scored by the device actor's own code and parameters
 * (createOfflineDevice), so each row's scores are those the platform stores for the same readings in
 * the same order (test/integration/detect-matches-runtime.test.ts shows it against the running platform).
 * Streams: the input is read line by line and the output written in chunks that wait for the
 * destination, so memory stays flat for files larger than memory.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { createOfflineDevice } from "../../actors/device/index.js";
import type { AnomalyReason } from "../domain/anomaly-reasons.js";
import type { CommandIo } from "./io.js";
import { layoutOf, parseMetric, parseTimestamp, splitCsvLine } from "./detect-csv.js";
import type { CsvLayout } from "./detect-csv.js";
import { DETECT_USAGE, parseDetectArgs } from "./detect-options.js";
import type { DetectOptions } from "./detect-options.js";
import { createRowSink, csvHeader, csvLine, jsonLine } from "./detect-output.js";
import type { RowSink } from "./detect-output.js";

/**
 * `shoal detect`: exit 0; 1 when rows were bad (the others are scored) or the input is unreadable;
 * 2 on a usage error. `stdout` is the stream `io.stdout` ends in (the process's standard output),
 * watched so that output waits while it is full.
 */
export async function run(argv: string[], io: CommandIo, stdout: Writable = process.stdout): Promise<number> {
  let opts: DetectOptions;
  try {
    const parsed = parseDetectArgs(argv);
    if (parsed === "help") {
      io.stdout(DETECT_USAGE);
      return 0;
    }
    opts = parsed;
  } catch (e) {
    io.stderr(`shoal detect: ${(e as Error).message}\n${DETECT_USAGE}`);
    return 2;
  }
  const input: Readable = opts.file === "-" ? process.stdin : createReadStream(opts.file);
  let sink: RowSink;
  if (opts.out === undefined) sink = createRowSink((chunk) => io.stdout(chunk), stdout, false);
  else {
    const file = createWriteStream(opts.out);
    sink = createRowSink((chunk) => file.write(chunk), file, true);
  }
  const started = performance.now();
  let counts: Counts;
  try {
    counts = await score(input, sink, opts, (lineNo, problem) => io.stderr(`shoal detect: line ${lineNo}: ${problem} (skipped)\n`));
  } catch (e) {
    await sink.end();
    io.stderr(`shoal detect: ${(e as Error).message}\n`);
    return 1;
  } finally {
    if (input !== process.stdin) input.destroy();
  }
  await sink.end();
  const failure = sink.failure;
  // The reader went away (`shoal detect big.csv | head`): nobody wants the rest.
  if (failure?.code === "EPIPE") return counts.bad > 0 ? 1 : 0;
  if (failure !== undefined) {
    io.stderr(`shoal detect: writing ${opts.out ?? "standard output"}: ${failure.message}\n`);
    return 1;
  }
  const secs = (performance.now() - started) / 1000;
  io.stderr(
    `shoal detect: ${counts.rows} rows scored, ${counts.anomalies} anomalies (score >= ${opts.threshold}) in ${counts.incidents} incidents, ${counts.bad} bad rows skipped, ${Math.round(counts.rows / Math.max(secs, 1e-3))} rows/s\n`,
  );
  return counts.bad > 0 ? 1 : 0;
}

/** Rows scored, flagged and skipped. */
interface Counts {
  rows: number;
  anomalies: number;
  /** Anomalies that opened an incident (the others joined one open a few rows before). */
  incidents: number;
  bad: number;
}

/**
 * Reads `input` line by line, feeds each good row to one offline device actor (seq = the row's
 * number among the scored rows, tsMs = its timestamp) and writes its line to `sink`, waiting when
 * the sink is full. Bad rows go to `badRow` with their line number (1 = the header).
 * @throws Error when the input cannot be read or its header does not fit the options.
 */
async function score(input: Readable, sink: RowSink, opts: DetectOptions, badRow: (lineNo: number, problem: string) => void): Promise<Counts> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  const device = createOfflineDevice(opts.deviceId, opts.settings);
  const json = opts.format === "json";
  const counts: Counts = { rows: 0, anomalies: 0, incidents: 0, bad: 0 };
  const incidents = new IncidentCells();
  let layout: CsvLayout | undefined;
  let names: string[] = [];
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const line = lineNo === 1 && raw.startsWith("\uFEFF") ? raw.slice(1) : raw;
    if (line.trim() === "") continue;
    const cells = splitCsvLine(line);
    if (layout === undefined) {
      layout = layoutOf(cells, opts.timeColumn, opts.metrics);
      names = layout.metrics.map((m) => m.name);
      if (!json) await sink.write(csvHeader(names));
      continue;
    }
    const timeCell = cells[layout.time] ?? "";
    const tsMs = parseTimestamp(timeCell);
    const metrics: Record<string, number> = {};
    let problem = cells.length > layout.width ? `${cells.length} fields, the header has ${layout.width}` : "";
    if (problem === "" && tsMs === undefined) problem = `unreadable timestamp ${JSON.stringify(timeCell)}`;
    for (const m of layout.metrics) {
      if (problem !== "") break;
      const v = parseMetric(cells[m.index] ?? "");
      if (v === undefined) continue;
      if (Number.isNaN(v)) problem = `${m.name}: not a number ${JSON.stringify(cells[m.index])}`;
      else metrics[m.name] = v;
    }
    if (problem === "" && Object.keys(metrics).length === 0) problem = "no metric value";
    if (problem !== "") {
      counts.bad++;
      badRow(lineNo, problem);
      continue;
    }
    counts.rows++;
    const got = device.feed({ seq: counts.rows, tsMs: tsMs!, metrics });
    const anomaly = got.score >= opts.threshold;
    if (anomaly) {
      counts.anomalies++;
      if (got.anomaly?.partOf === undefined) counts.incidents++;
    }
    const scores = new Map<string, number>();
    for (let i = 0; i < got.names.length; i++) scores.set(got.names[i]!, got.scores[i]!);
    const row = { ts: timeCell, tsMs: tsMs!, score: got.score, anomaly, reasons: reasonsOf(got.anomaly), incident: anomaly ? incidents.of(counts.rows, timeCell, got.anomaly?.partOf?.seq) : "", scores };
    const wait = sink.write(json ? jsonLine(row) : csvLine(row, names));
    if (wait !== undefined) await wait;
    if (sink.failure !== undefined) break;
  }
  if (layout === undefined) throw new Error("the input has no header row");
  return counts;
}

/**
 * The timestamp cells of the latest anomalies by seq, so an anomaly that joined an open incident
 * can name the row that opened it. An incident stays open while an anomaly window is (a device
 * holds a few), so the last 256 anomalies always hold its opener.
 */
class IncidentCells {
  private readonly cells = new Map<number, string>();

  /** The incident cell of the anomaly at `seq` (`partOf`: the seq of the anomaly it joined, if any). */
  of(seq: number, cell: string, partOf: number | undefined): string {
    const own = partOf === undefined ? cell : (this.cells.get(partOf) ?? cell);
    this.cells.set(seq, own);
    if (this.cells.size > 256) this.cells.delete(this.cells.keys().next().value!);
    return own;
  }
}

/** The reasons an anomaly event carries (none when the actor raised no event for the row). */
function reasonsOf(event: { reasons?: readonly AnomalyReason[] } | undefined): readonly AnomalyReason[] {
  return Array.isArray(event?.reasons) ? event.reasons : [];
}
