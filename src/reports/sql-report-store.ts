import { metricFigures, type AlertFigures, type ReportFigures } from "./figures.js";
import type { ReportStore } from "./report-store.js";
import { globToRegex } from "./schedule.js";
import { ANALYSIS_INCIDENT_SQL, ANALYSIS_KEY_SQL, REPORTS_TABLE } from "../domain/tables.js";

/** What the report store needs of ClickHouse (wired by the role on the ClickHouse adapter). */
export interface SqlAccess {
  /** Rows of a SELECT (JSONEachRow: 64-bit integers come as strings). */
  query<T>(select: string, signal?: AbortSignal): Promise<T[]>;
  /** A string as an SQL literal, quotes included (the adapter's one escaping function). */
  literal(value: string): string;
}

const HOUR = 3_600_000;

/** A whole number as an SQL literal; RangeError otherwise. */
function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${n} is not a whole number`);
  return String(n);
}

/**
 * The report store on ClickHouse (18.16 and later): figures from the readings rollups merged per
 * (device, metric) — `readings_1h` when the period is made of whole UTC hours, else `readings_1m` —
 * then folded per metric and per device; analyses and alert transitions of the period counted once
 * each (their tables may hold replays). Aliases never reuse a column name (18.16 resolves aliases
 * in WHERE too).
 */
export function createSqlReportStore(sql: SqlAccess): ReportStore {
  const toNum = (x: unknown) => Number(x ?? 0);
  return {
    async lastPeriods(signal) {
      const rows = await sql.query<{ kind: string; last_from: string }>(`SELECT kind, max(period_from_ms) AS last_from FROM ${REPORTS_TABLE} GROUP BY kind`, signal);
      return new Map(rows.map((r) => [r.kind, Number(r.last_from)]));
    },

    async exists(kind, reportId, signal) {
      const rows = await sql.query<{ n: string }>(`SELECT count() AS n FROM ${REPORTS_TABLE} WHERE kind = ${sql.literal(kind)} AND report_id = ${sql.literal(reportId)}`, signal);
      return toNum(rows[0]?.n) > 0;
    },

    async figures(q, signal): Promise<ReportFigures> {
      const { fromMs, toMs } = q.period;
      const inScope = q.scope.kind === "fleet" ? "" : ` AND match(device_id, ${sql.literal(globToRegex(q.scope.match))})`;
      const hourly = fromMs % HOUR === 0 && toMs % HOUR === 0;
      const fromS = int(Math.floor(fromMs / 1000));
      const toS = int(Math.ceil(toMs / 1000));
      // One row per (device, metric) of the period with its merged rollup states.
      const perDevice = `SELECT device_id, metric, sumMerge(samples) AS n, minMerge(min_value) AS mn, maxMerge(max_value) AS mx,
          sumMerge(sum_value) AS s, sumMerge(sum_squares) AS sq, maxMerge(max_score) AS ms
        FROM ${hourly ? "readings_1h" : "readings_1m"}
        WHERE bucket >= toDateTime(${fromS}) AND bucket < toDateTime(${toS})${inScope}
        GROUP BY device_id, metric HAVING n > 0`;
      const [metrics, totals, top, analyses, alerts] = await Promise.all([
        sql.query<{ metric: string; devs: string; total: string; lo: number; hi: number; vsum: number; vsq: number; score: number }>(
          `SELECT metric, count() AS devs, sum(n) AS total, min(mn) AS lo, max(mx) AS hi, sum(s) AS vsum, sum(sq) AS vsq, max(ms) AS score
           FROM (${perDevice}) GROUP BY metric ORDER BY metric`,
          signal,
        ),
        sql.query<{ devs: string; total: string }>(`SELECT uniqExact(device_id) AS devs, sum(n) AS total FROM (${perDevice})`, signal),
        sql.query<{ device_id: string; top_metric: string; top: number }>(
          `SELECT device_id, argMax(metric, ms) AS top_metric, max(ms) AS top FROM (${perDevice})
           GROUP BY device_id HAVING top > 0 ORDER BY top DESC, device_id LIMIT ${int(Math.max(0, q.topDevices))}`,
          signal,
        ),
        sql.query<{ n: string; i: string }>(
          `SELECT uniqExact(device_id, ${ANALYSIS_KEY_SQL}) AS n, uniqExact(device_id, ${ANALYSIS_INCIDENT_SQL}) AS i FROM analyses
           WHERE ts >= toDateTime(${fromS}) AND ts < toDateTime(${toS}) AND ts_ms >= ${int(fromMs)} AND ts_ms < ${int(toMs)}${inScope}`,
          signal,
        ),
        sql.query<{ rule: string; raised: string; cleared: string }>(
          `SELECT rule, uniqExactIf(alert_id, version, kind = 'raised') AS raised, uniqExactIf(alert_id, version, kind = 'cleared') AS cleared
           FROM alert_transitions
           WHERE at >= toDateTime(${fromS}) AND at < toDateTime(${toS}) AND at_ms >= ${int(fromMs)} AND at_ms < ${int(toMs)} AND kind IN ('raised', 'cleared')${inScope}
           GROUP BY rule ORDER BY rule`,
          signal,
        ),
      ]);
      return {
        devices: toNum(totals[0]?.devs),
        readings: toNum(totals[0]?.total),
        metrics: metrics.map((m) => metricFigures(m.metric, toNum(m.devs), toNum(m.total), toNum(m.lo), toNum(m.hi), toNum(m.vsum), toNum(m.vsq), toNum(m.score))),
        topDevices: q.topDevices > 0 ? top.map((d) => ({ deviceId: d.device_id, metric: d.top_metric, maxScore: toNum(d.top) })) : [],
        anomalies: toNum(analyses[0]?.n),
        incidents: toNum(analyses[0]?.i),
        alerts: alerts.map((a): AlertFigures => ({ rule: a.rule, raised: toNum(a.raised), cleared: toNum(a.cleared) })),
      };
    },
  };
}
