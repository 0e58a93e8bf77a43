/**
 * Output of `shoal detect`: each scored row as a CSV line or a JSON line, and the sink they go
 * through — written in chunks, waiting whenever the destination is full, so memory stays flat
 * however large the input and however slow the reader (a pipe to a slow consumer, a slow disk).
 */
import type { Writable } from "node:stream";
import type { AnomalyReason } from "../domain/anomaly-reasons.js";
import { formatReasons } from "../domain/anomaly-reasons.js";

/** One scored row, ready to print. */
export interface DetectRow {
  /** The timestamp cell as written in the input. */
  readonly ts: string;
  /** The same timestamp in ms since the epoch (the reading's tsMs). */
  readonly tsMs: number;
  /** The reading's score (what the platform stores in `readings.score`). */
  readonly score: number;
  /** score >= the threshold. */
  readonly anomaly: boolean;
  /** Why it fired (from the actor's anomaly event; none when it did not fire). */
  readonly reasons: readonly AnomalyReason[];
  /**
   * The timestamp cell of the anomaly that opened this one's incident: its own, unless it joined an
   * incident still open (as `analyses.incident_seq` names it); "" when the row is no anomaly.
   */
  readonly incident: string;
  /** Score of each metric present in the row, by name (`readings.metric_scores`). */
  readonly scores: ReadonlyMap<string, number>;
}

/** The CSV header line: `timestamp,score,anomaly,reasons,incident,<metric>_score…`. */
export function csvHeader(metrics: readonly string[]): string {
  return ["timestamp", "score", "anomaly", "reasons", "incident", ...metrics.map((m) => csvField(`${m}_score`))].join(",") + "\n";
}

/**
 * A row as a CSV line: anomaly 1 or 0, reasons as `metric: term score; …`, a metric absent from
 * the row an empty cell. Numbers are printed exactly (the shortest text that reads back as the same double).
 */
export function csvLine(row: DetectRow, metrics: readonly string[]): string {
  let line = `${csvField(row.ts)},${row.score},${row.anomaly ? 1 : 0},${csvField(formatReasons(row.reasons))},${csvField(row.incident)}`;
  for (const m of metrics) {
    const s = row.scores.get(m);
    line += s === undefined ? "," : `,${s}`;
  }
  return line + "\n";
}

/** A row as one JSON line: `{"ts","tsMs","score","anomaly","reasons","incident","scores"}` (numbers exact). */
export function jsonLine(row: DetectRow): string {
  const reasons = row.reasons.map((r) => ({ metric: r.metric, term: r.term, score: r.score }));
  return JSON.stringify({ ts: row.ts, tsMs: row.tsMs, score: row.score, anomaly: row.anomaly, reasons, incident: row.incident, scores: Object.fromEntries(row.scores) }) + "\n";
}

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Where the lines go. */
export interface RowSink {
  /**
   * Queues text. Returns a promise when the caller must wait before writing more (the destination
   * is full), else undefined (the common case: no await per row).
   */
  write(text: string): Promise<void> | undefined;
  /** Writes what is queued and, for a file, closes it. Resolves once written (or failed). */
  end(): Promise<void>;
  /** The destination's error (EPIPE when the reader went away, a disk error…): stop producing. */
  readonly failure: (Error & { code?: string }) | undefined;
}

/** Characters queued before they are written as one chunk. */
export const CHUNK_CHARS = 1 << 16;

/**
 * A sink writing chunks with `write` into `stream` (the same stream, or one `write` ends in, such
 * as standard output behind CommandIo.stdout), waiting for `drain` whenever `stream` is full. With
 * `own`, end() closes `stream`. Errors of `stream` are caught and kept in `failure`.
 */
export function createRowSink(write: (chunk: string) => void, stream: Writable, own: boolean, chunkChars = CHUNK_CHARS): RowSink {
  let buf = "";
  let failure: (Error & { code?: string }) | undefined;
  let wake: (() => void) | undefined;
  const onError = (e: Error) => {
    failure ??= e;
    wake?.();
  };
  stream.on("error", onError);
  const room = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        stream.off("drain", done);
        stream.off("close", done);
        wake = undefined;
        resolve();
      };
      wake = done;
      stream.on("drain", done);
      stream.on("close", done);
    });
  const flush = (): Promise<void> | undefined => {
    const chunk = buf;
    buf = "";
    if (chunk === "" || failure !== undefined) return undefined;
    write(chunk);
    return stream.writableNeedDrain && failure === undefined && !stream.destroyed ? room() : undefined;
  };
  return {
    write(text) {
      buf += text;
      return buf.length >= chunkChars ? flush() : undefined;
    },
    async end() {
      await flush();
      if (own && !stream.destroyed) {
        const closed = new Promise<void>((resolve) => stream.once("close", () => resolve()));
        stream.end();
        await closed;
      } else if (!own) {
        if (stream.writableNeedDrain && failure === undefined && !stream.destroyed) await room();
        // A failed write's error is emitted on a later tick: keep catching it until then.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      stream.off("error", onError);
    },
    get failure() {
      return failure;
    },
  };
}
