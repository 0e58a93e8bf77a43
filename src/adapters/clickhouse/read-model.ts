import type { AnalysisRow, DeviceEventRow, DeviceRow, MetricRow, MetricValues, ReadModel, SeriesPoint } from "../../ports/read-model.js";
import { createBoundedQueries, type ClickHouseOptions } from "./client.js";
import { createFleetQuery } from "./fleet-read-model.js";
import { pageIdsOf, ROWS_PER_DEVICE } from "./page-ids.js";
import { sqlMs, sqlString } from "./sql.js";
import { reasonsFromJson } from "../../domain/anomaly-reasons.js";
import { ANALYSIS_INCIDENT_SQL, ANALYSIS_KEY_SQL } from "../../domain/tables.js";

export interface ReadModelOptions {
  /** ClickHouse's own limit per query (max_execution_time), ms; the caller's signal cancels sooner. */
  readonly maxExecutionMs: number;
}

const TIER_SECONDS = { "1m": 60, "1h": 3600 } as const;

/** Seconds of a ms time, for DateTime comparisons (partition and bucket pruning). */
const sec = (ms: number) => sqlMs(Math.floor(ms / 1000));

/** Raw rows of one metric in a range, one per reading (deduplicated by the table's key). */
function rawSeries(deviceId: string, metric: string, fromMs: number, toMs: number): string {
  const m = sqlString(metric);
  return `SELECT ts_ms, epoch, seq, any(metric_values[indexOf(metric_names, ${m})]) AS v, any(metric_scores[indexOf(metric_names, ${m})]) AS s
    FROM readings
    WHERE device_id = ${sqlString(deviceId)} AND ts >= toDateTime(${sec(fromMs)}) AND ts <= toDateTime(${sec(toMs)})
      AND ts_ms >= ${sqlMs(fromMs)} AND ts_ms < ${sqlMs(toMs)} AND has(metric_names, ${m})
    GROUP BY epoch, seq, ts_ms`;
}

const DEVICE_COLUMNS = `device_id, minMerge(first_seen_ms) AS first, maxMerge(last_seen_ms) AS last, sumMerge(readings) AS n,
  argMaxMerge(last_epoch) AS epoch, argMaxMerge(last_seq) AS seq, argMaxMerge(last_event_kind) AS ev, maxMerge(last_event_at_ms) AS ev_at`;

type AnomalyCount = { readonly anomalies: number; readonly incidents: number };

type DeviceSql = { device_id: string; first: string; last: string; n: string; epoch: string; seq: string; ev: string; ev_at: string };

/**
 * The read model on ClickHouse: device_status for the fleet, the readings rollups for long ranges,
 * raw readings deduplicated by (epoch, seq, ts_ms) for short ones, analyses; the fleet's figures in
 * fleet-read-model.ts. Every value from a request reaches SQL through `sqlString`/`sqlMs` (18.16
 * has no query parameters).
 */
export function createClickHouseReadModel(o: ClickHouseOptions, opts: ReadModelOptions): ReadModel & { close(): Promise<void> } {
  const db = createBoundedQueries(o, opts.maxExecutionMs, "read model query");
  const rows = db.rows;
  /** Anomalies and incidents per device since `sinceMs`. */
  const anomalyCounts = async (ids: readonly string[], sinceMs: number, signal?: AbortSignal): Promise<Map<string, AnomalyCount>> => {
    if (ids.length === 0) return new Map();
    const got = await rows<{ device_id: string; n: string; i: string }>(
      `SELECT device_id, uniqExact(${ANALYSIS_KEY_SQL}) AS n, uniqExact(${ANALYSIS_INCIDENT_SQL}) AS i FROM analyses
       WHERE device_id IN (${ids.map(sqlString).join(", ")}) AND ts >= toDateTime(${sec(sinceMs)}) AND ts_ms >= ${sqlMs(sinceMs)}
       GROUP BY device_id`,
      signal,
    );
    return new Map(got.map((r) => [r.device_id, { anomalies: Number(r.n), incidents: Number(r.i) }]));
  };
  const rowOf = (r: DeviceSql, anomalies: ReadonlyMap<string, AnomalyCount>): DeviceRow => ({
    deviceId: r.device_id,
    firstSeenMs: Number(r.first),
    lastSeenMs: Number(r.last),
    readings: Number(r.n),
    epoch: Number(r.epoch),
    lastSeq: Number(r.seq),
    lastEvent: r.ev,
    lastEventMs: Number(r.ev_at),
    anomalies: anomalies.get(r.device_id)?.anomalies ?? 0,
    incidents: anomalies.get(r.device_id)?.incidents ?? 0,
  });
  /** The devices `ids` (the page's, found first: only their states are merged), with their anomaly counts read alongside. */
  const devicesOf = async (ids: readonly string[], sinceMs: number, signal?: AbortSignal): Promise<DeviceRow[]> => {
    if (ids.length === 0) return [];
    const [got, anomalies] = await Promise.all([
      rows<DeviceSql>(`SELECT ${DEVICE_COLUMNS} FROM device_status WHERE device_id IN (${ids.map(sqlString).join(", ")}) GROUP BY device_id ORDER BY device_id`, signal),
      anomalyCounts(ids, sinceMs, signal),
    ]);
    return got.map((r) => rowOf(r, anomalies));
  };

  return {
    async listDevices(q, signal) {
      const conds = ["1 = 1"];
      // Bounded on both sides so the primary key limits the scan (ids are [A-Za-z0-9_-], all below U+007F).
      if (q.prefix !== "") conds.push(`device_id >= ${sqlString(q.prefix)} AND device_id < ${sqlString(`${q.prefix}\u007f`)} AND startsWith(device_id, ${sqlString(q.prefix)})`);
      if (q.after !== "") conds.push(`device_id > ${sqlString(q.after)}`);
      const where = conds.join(" AND ");
      // The page's ids from the first rows in key order (a top-N of one column: no GROUP BY of
      // every device, 2-3x less ClickHouse time for the fleet's first page at 100,000 devices);
      // the exact GROUP BY only when those rows do not settle it (page-ids.ts).
      const read = q.limit * ROWS_PER_DEVICE;
      const first = await rows<{ device_id: string }>(`SELECT device_id FROM device_status WHERE ${where} ORDER BY device_id LIMIT ${read}`, signal);
      const ids =
        pageIdsOf(
          first.map((r) => r.device_id),
          read,
          q.limit,
        ) ?? (await rows<{ device_id: string }>(`SELECT device_id FROM device_status WHERE ${where} GROUP BY device_id ORDER BY device_id LIMIT ${q.limit}`, signal)).map((r) => r.device_id);
      return devicesOf(ids, q.anomaliesSinceMs, signal);
    },

    async getDevice(deviceId, sinceMs, signal) {
      const got = await devicesOf([deviceId], sinceMs, signal);
      return got[0]?.lastSeenMs === 0 && got[0].lastEventMs === 0 ? undefined : got[0];
    },

    async deviceMetrics(deviceId, signal): Promise<MetricRow[]> {
      const id = sqlString(deviceId);
      const last = await rows<{ last: string }>(`SELECT maxMerge(last_seen_ms) AS last FROM device_status WHERE device_id = ${id}`, signal);
      const lastMs = Number(last[0]?.last ?? 0);
      if (lastMs === 0) return [];
      const since = lastMs - 3_600_000;
      const got = await rows<{ metric: string; n: string; ms: number; v: number; at: string }>(
        `SELECT metric, count() AS n, max(score) AS ms, argMax(value, ts_ms) AS v, max(ts_ms) AS at FROM (
           SELECT ts_ms, any(metric_names) AS names, any(metric_values) AS vals, any(metric_scores) AS scores FROM readings
           WHERE device_id = ${id} AND ts >= toDateTime(${sec(since)}) AND ts_ms > ${sqlMs(since)}
           GROUP BY epoch, seq, ts_ms)
         ARRAY JOIN names AS metric, vals AS value, scores AS score
         GROUP BY metric ORDER BY metric`,
        signal,
      );
      return got.map((r) => ({ name: r.metric, count: Number(r.n), lastValue: Number(r.v), lastTsMs: Number(r.at), maxScore: Number(r.ms) }));
    },

    async deviceEvents(deviceId, limit, signal): Promise<DeviceEventRow[]> {
      const got = await rows<{ kind: string; at_ms: string; epoch: string; last_seq: string; detail: string }>(
        `SELECT DISTINCT kind, at_ms, epoch, last_seq, detail FROM device_events WHERE device_id = ${sqlString(deviceId)} ORDER BY at_ms DESC LIMIT ${limit}`,
        signal,
      );
      return got.map((r) => ({ kind: r.kind, atMs: Number(r.at_ms), epoch: Number(r.epoch), lastSeq: Number(r.last_seq), detail: r.detail }));
    },

    async countReadings(deviceId, metric, fromMs, toMs, signal) {
      const got = await rows<{ n: string }>(
        `SELECT sumMerge(samples) AS n FROM readings_1m
         WHERE device_id = ${sqlString(deviceId)} AND metric = ${sqlString(metric)}
           AND bucket >= toDateTime(${sqlMs(Math.floor(fromMs / 60_000) * 60)}) AND bucket < toDateTime(${sec(toMs + 999)})`,
        signal,
      );
      return Number(got[0]?.n ?? 0);
    },

    async series(q, signal): Promise<SeriesPoint[]> {
      if (q.tier === "raw") {
        const got = await rows<{ ts_ms: string; epoch: string; seq: string; v: number; s: number }>(`${rawSeries(q.deviceId, q.metric, q.fromMs, q.toMs)} ORDER BY ts_ms, epoch, seq LIMIT ${q.limit}`, signal);
        return got.map((r) => {
          const v = Number(r.v);
          return { tsMs: Number(r.ts_ms), value: v, min: v, max: v, count: 1, sumSq: v * v, score: Number(r.s), epoch: Number(r.epoch), seq: Number(r.seq) };
        });
      }
      const tierS = TIER_SECONDS[q.tier];
      const bucketS = Math.max(tierS, Math.round(q.bucketMs / 1000));
      const table = q.tier === "1m" ? "readings_1m" : "readings_1h";
      const got = await rows<{ b: string; n: string; mn: number; mx: number; s: number; sq: number; ms: number }>(
        `SELECT intDiv(toUInt32(bucket), ${bucketS}) * ${bucketS} AS b, sumMerge(samples) AS n, minMerge(min_value) AS mn, maxMerge(max_value) AS mx,
           sumMerge(sum_value) AS s, sumMerge(sum_squares) AS sq, maxMerge(max_score) AS ms
         FROM ${table}
         WHERE device_id = ${sqlString(q.deviceId)} AND metric = ${sqlString(q.metric)}
           AND bucket >= toDateTime(${sqlMs(Math.floor(q.fromMs / 1000 / tierS) * tierS)}) AND bucket < toDateTime(${sec(q.toMs + 999)})
         GROUP BY b HAVING n > 0 ORDER BY b LIMIT ${q.limit}`,
        signal,
      );
      return got.map((r) => {
        const n = Number(r.n);
        return { tsMs: Number(r.b) * 1000, value: Number(r.s) / n, min: Number(r.mn), max: Number(r.mx), count: n, sumSq: Number(r.sq), score: Number(r.ms), epoch: 0, seq: 0 };
      });
    },

    async analyses(q, signal): Promise<AnalysisRow[]> {
      const conds = [`ts >= toDateTime(${sec(q.fromMs)})`, `ts <= toDateTime(${sec(q.toMs)})`, `ts_ms >= ${sqlMs(q.fromMs)}`, `ts_ms < ${sqlMs(q.toMs)}`];
      if (q.deviceId !== "") conds.unshift(`device_id = ${sqlString(q.deviceId)}`);
      if (q.minScore > 0) conds.push(`score >= ${Number(q.minScore)}`);
      return analysisRows(await rows<AnalysisSql>(`${ANALYSIS_SELECT} WHERE ${conds.join(" AND ")} GROUP BY device_id, epoch, seq, ts_ms, metric ORDER BY a_ts DESC, device_id LIMIT ${q.limit}`, signal));
    },

    async anomalyWindow(k, signal) {
      const got = await rows<{ v: number[] }>(
        `SELECT any(vector) AS v FROM anomaly_windows WHERE device_id = ${sqlString(k.deviceId)} AND epoch = ${sqlMs(k.epoch)} AND seq = ${sqlMs(k.seq)} AND ts_ms = ${sqlMs(k.tsMs)} AND metric = ${sqlString(k.metric)} GROUP BY device_id`,
        signal,
      );
      return got[0]?.v.map(Number);
    },

    async explanations(keys, signal): Promise<AnalysisRow[]> {
      if (keys.length === 0) return [];
      const tuples = keys.map((k) => `(${sqlString(k.deviceId)}, ${sqlMs(k.epoch)}, ${sqlMs(k.seq)}, ${sqlMs(k.tsMs)}, ${sqlString(k.metric)})`).join(", ");
      return analysisRows(await rows<AnalysisSql>(`${ANALYSIS_SELECT} WHERE (device_id, epoch, seq, ts_ms, metric) IN (${tuples}) GROUP BY device_id, epoch, seq, ts_ms, metric`, signal));
    },

    async values(deviceId, metric, fromMs, toMs, limit, signal): Promise<MetricValues> {
      const got = await rows<{ ts_ms: string; v: number }>(
        `SELECT ts_ms, v FROM (${rawSeries(deviceId, metric, fromMs, toMs)} ORDER BY ts_ms DESC, epoch DESC, seq DESC LIMIT ${limit}) ORDER BY ts_ms, epoch, seq`,
        signal,
      );
      return { tsMs: got.map((r) => Number(r.ts_ms)), values: got.map((r) => Number(r.v)) };
    },

    fleet: createFleetQuery(db),

    close: () => db.close(),
  };
}

// Aliases differ from column names: ClickHouse resolves aliases in WHERE too.
const ANALYSIS_SELECT = `SELECT device_id, epoch, seq, metric, ts_ms AS a_ts, any(score) AS a_score, any(summary) AS a_summary, any(likely_cause) AS a_cause,
  any(suggested_action) AS a_action, any(provider) AS a_provider, any(model) AS a_model, any(cached) AS a_cached, any(degraded) AS a_degraded, any(reasons) AS a_reasons,
  any(incident_epoch) AS a_incident_epoch, any(incident_seq) AS a_incident_seq, any(incident_ts_ms) AS a_incident_ts FROM analyses`;

type AnalysisSql = {
  device_id: string;
  epoch: string;
  seq: string;
  metric: string;
  a_ts: string;
  a_score: number;
  a_summary: string;
  a_cause: string;
  a_action: string;
  a_provider: string;
  a_model: string;
  a_cached: number;
  a_degraded: number;
  a_reasons: string;
  a_incident_epoch: string;
  a_incident_seq: string;
  a_incident_ts: string;
};

function analysisRows(got: readonly AnalysisSql[]): AnalysisRow[] {
  return got.map(analysisRow);
}

/**
 * An `analyses` row with its incident. All zeros is read as its own: 18.16 fills a column a
 * JSONEachRow insert left out with zeros, not with its default (migrations 19 and 20 give older
 * rows their own).
 */
function analysisRow(r: AnalysisSql): AnalysisRow {
  const incidentEpoch = Number(r.a_incident_epoch);
  const incidentSeq = Number(r.a_incident_seq);
  const incidentTsMs = Number(r.a_incident_ts);
  const own = incidentEpoch === 0 && incidentSeq === 0 && incidentTsMs === 0;
  return {
    deviceId: r.device_id,
    epoch: Number(r.epoch),
    seq: Number(r.seq),
    tsMs: Number(r.a_ts),
    metric: r.metric,
    score: Number(r.a_score),
    summary: r.a_summary,
    likelyCause: r.a_cause,
    suggestedAction: r.a_action,
    provider: r.a_provider,
    model: r.a_model,
    cached: Number(r.a_cached) === 1,
    degraded: Number(r.a_degraded) === 1,
    reasons: reasonsFromJson(r.a_reasons ?? ""),
    incidentEpoch: own ? Number(r.epoch) : incidentEpoch,
    incidentSeq: own ? Number(r.seq) : incidentSeq,
    incidentTsMs: own ? Number(r.a_ts) : incidentTsMs,
  };
}
