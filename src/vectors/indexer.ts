import type { LoggedTableRows } from "../ports/row-feed.js";
import type { Row } from "../ports/row-sink.js";
import type { VectorCollection, VectorObject, VectorStore } from "../ports/vector-store.js";
import { ShoalError } from "../base/errors.js";
import { anomalyIdParts, anomalyWindowId, textVectorId } from "../domain/anomaly-window.js";
import { fnv1a32 } from "../base/hash.js";
import { ANALYSES_TABLE, ANOMALY_WINDOWS_TABLE, READINGS_TABLE, REPORTS_TABLE } from "../domain/tables.js";
import { ANOMALY_WINDOW_DIMENSIONS } from "../domain/window-features.js";
import type { RowSelection } from "../domain/row-binary-read.js";

/** Embeds texts (the model gateway's Embed, with its cache and budget), one vector per text in order. */
export type EmbedTexts = (texts: readonly string[]) => Promise<ReadonlyArray<ArrayLike<number>>>;

export interface VectorIndexerOptions {
  readonly store: VectorStore;
  readonly embed: EmbedTexts;
  /** Index device log lines (distinct per device) as texts. */
  readonly indexLogs: boolean;
  /** Distinct (device, log line) pairs remembered to skip repeats. */
  readonly logMemory?: number;
}

export interface VectorIndexerStats {
  windows: number;
  explanations: number;
  /** Scheduled reports (title and body) embedded. */
  reports: number;
  logs: number;
  logRepeatsSkipped: number;
  embedCalls: number;
}

/**
 * Turns stored rows into vectors: anomaly windows as they are (the actor computed them), analyses'
 * explanations, scheduled reports and device log lines embedded through the gateway. Every object
 * has a deterministic id, so an entry handled twice (redelivery, replay) writes the same objects
 * again. Failures of the store or the gateway propagate (the entry is redelivered); a row that
 * cannot be a vector (wrong length) is an error that is not retryable (dead-lettered by the caller).
 */
export class VectorIndexer {
  readonly stats: VectorIndexerStats = { windows: 0, explanations: 0, reports: 0, logs: 0, logRepeatsSkipped: 0, embedCalls: 0 };
  private readonly seenLogs = new Map<string, true>();
  private textsDims = 0;
  private windowsReady = false;

  constructor(private readonly o: VectorIndexerOptions) {}

  /** The tables whose rows it reads (readings only for their log lines, when indexed). */
  get tables(): ReadonlySet<string> {
    return new Set([ANOMALY_WINDOWS_TABLE, ANALYSES_TABLE, REPORTS_TABLE, ...(this.o.indexLogs ? [READINGS_TABLE] : [])]);
  }

  /**
   * The rows it reads of each table, where not all: of readings only those with a log line (a
   * reader can step over the rest undecoded; most readings carry none).
   */
  get rows(): ReadonlyMap<string, RowSelection> {
    return new Map(this.o.indexLogs ? [[READINGS_TABLE, { column: "log", keep: (log: string) => log !== "" }]] : []);
  }

  async handle(entry: LoggedTableRows): Promise<void> {
    try {
      if (entry.table === ANOMALY_WINDOWS_TABLE) await this.windows(entry.rows);
      else if (entry.table === ANALYSES_TABLE) await this.texts(entry.rows.map(explanationOf), "explanations");
      else if (entry.table === REPORTS_TABLE) await this.texts(entry.rows.map(reportOf), "reports");
      else if (entry.table === READINGS_TABLE && this.o.indexLogs) await this.texts(this.newLogs(entry.rows), "logs");
    } catch (e) {
      // A store closed under the indexer (shutdown) is not the entry's fault: it comes again.
      if (e instanceof ShoalError && e.code === "closed") throw new ShoalError(`vector store closed: ${e.message}`, { code: "unavailable", retryable: true, cause: e });
      throw e;
    }
  }

  private async windows(rows: readonly Row[]): Promise<void> {
    if (rows.length === 0) return;
    const objects = rows.map((r): VectorObject => {
      const vector = r["vector"] as readonly number[];
      if (!Array.isArray(vector) || vector.length !== ANOMALY_WINDOW_DIMENSIONS) {
        throw new ShoalError(`anomaly window of ${String(r["device_id"])} has ${Array.isArray(vector) ? vector.length : "no"} dimensions, not ${ANOMALY_WINDOW_DIMENSIONS}`, { code: "invalid_input", retryable: false });
      }
      const base = keyOf(r);
      return { id: anomalyWindowId(base), vector, kind: "anomaly_window", ...base, score: Number(r["score"]), text: "" };
    });
    await this.ensure("anomaly_windows", ANOMALY_WINDOW_DIMENSIONS);
    await this.o.store.upsert("anomaly_windows", objects);
    this.stats.windows += objects.length;
  }

  private async texts(items: readonly (Omit<VectorObject, "vector"> | undefined)[], counter: "explanations" | "reports" | "logs"): Promise<void> {
    const todo = items.filter((x): x is Omit<VectorObject, "vector"> => x !== undefined && x.text !== "");
    if (todo.length === 0) return;
    this.stats.embedCalls++;
    const vectors = await this.o.embed(todo.map((t) => t.text));
    await this.ensure("texts", vectors[0]!.length);
    await this.o.store.upsert(
      "texts",
      todo.map((t, i) => ({ ...t, vector: vectors[i]! })),
    );
    this.stats[counter] += todo.length;
  }

  private newLogs(rows: readonly Row[]): (Omit<VectorObject, "vector"> | undefined)[] {
    const out: Omit<VectorObject, "vector">[] = [];
    for (const r of rows) {
      const text = String(r["log"] ?? "").trim();
      if (text === "") continue;
      const deviceId = String(r["device_id"]);
      const key = `${deviceId}\u0000${text}`;
      if (this.seenLogs.has(key)) {
        this.stats.logRepeatsSkipped++;
        continue;
      }
      this.seenLogs.set(key, true);
      if (this.seenLogs.size > (this.o.logMemory ?? 10_000)) this.seenLogs.delete(this.seenLogs.keys().next().value!);
      out.push({ id: textVectorId("log", deviceId, fnv1a32(text), text.length), kind: "log", deviceId, tsMs: Number(r["ts_ms"]), metric: "", epoch: Number(r["epoch"] ?? 0), seq: Number(r["seq"]), score: Number(r["score"] ?? 0), text });
    }
    return out;
  }

  private async ensure(name: VectorCollection, dimensions: number): Promise<void> {
    if (name === "anomaly_windows" ? this.windowsReady : this.textsDims === dimensions) return;
    if (name === "texts" && this.textsDims !== 0) throw new ShoalError(`text embeddings changed length (${this.textsDims} -> ${dimensions}): the texts collection must be rebuilt`, { code: "invalid_input", retryable: false });
    await this.o.store.ensureCollection({ name, dimensions });
    if (name === "anomaly_windows") this.windowsReady = true;
    else this.textsDims = dimensions;
  }
}

function keyOf(r: Row) {
  return { deviceId: String(r["device_id"]), epoch: Number(r["epoch"] ?? 0), seq: Number(r["seq"]), tsMs: Number(r["ts_ms"]), metric: String(r["metric"] ?? "") };
}

/** The text of an explanation: what an operator would search for. */
function explanationOf(r: Row): Omit<VectorObject, "vector"> | undefined {
  const text = [r["summary"], r["likely_cause"], r["suggested_action"]].map((x) => String(x ?? "").trim()).filter((x) => x !== "").join(" ");
  if (text === "") return undefined;
  const k = keyOf(r);
  return { id: textVectorId("explanation", ...anomalyIdParts(k)), kind: "explanation", ...k, score: Number(r["score"] ?? 0), text };
}

/** Longest report text embedded, characters. */
const MAX_REPORT_TEXT = 16_000;

/**
 * The text of a scheduled report (title, then body), fleet-wide (no device), at its period's end;
 * one object per report id, so a report written twice (a leader race, a replay) is one vector.
 */
function reportOf(r: Row): Omit<VectorObject, "vector"> | undefined {
  const reportId = String(r["report_id"] ?? "");
  // Bounded: the gateway refuses texts over 32,000 characters (a report with many metrics gets long).
  const text = [r["title"], r["body"]].map((x) => String(x ?? "").trim()).filter((x) => x !== "").join("\n").slice(0, MAX_REPORT_TEXT);
  if (reportId === "" || text === "") return undefined;
  return { id: textVectorId("report", reportId), kind: "report", deviceId: "", tsMs: Number(r["period_to_ms"] ?? 0), metric: "", epoch: 0, seq: 0, score: 0, text };
}
