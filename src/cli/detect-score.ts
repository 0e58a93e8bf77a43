/**
 * The scoring loop of `shoal detect`, shared by the command (one file, on its own thread) and by the
 * worker pool that scores several files at once (detect-files.ts): CSV rows in, one offline device
 * actor, scored rows out through a RowSink that waits while its destination is full.
 */
import type { Readable } from "node:stream";
import { createInterface } from "node:readline";
import { createOfflineDevice } from "../../actors/device/index.js";
import type { AnomalyReason } from "../domain/anomaly-reasons.js";
import { layoutOf, parseMetric, parseTimestamp, splitCsvLine } from "./detect-csv.js";
import type { CsvLayout } from "./detect-csv.js";
import type { DetectOptions } from "./detect-options.js";
import { csvHeader, csvLine, jsonLine } from "./detect-output.js";
import type { RowSink } from "./detect-output.js";

/** What the scoring loop needs of the command's options (plain data: it crosses to worker threads). */
export type ScoreOptions = Pick<DetectOptions, "deviceId" | "settings" | "format" | "threshold" | "timeColumn" | "metrics">;

/** Rows scored, flagged and skipped. */
export interface Counts {
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
export async function score(input: Readable, sink: RowSink, opts: ScoreOptions, badRow: (lineNo: number, problem: string) => void): Promise<Counts> {
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
