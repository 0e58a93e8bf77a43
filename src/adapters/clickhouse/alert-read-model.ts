import type { AlertReadModel, AlertRow, AlertTransitionRecord } from "../../ports/alert-read-model.js";
import { deviceOfAlertId } from "../../domain/alerts.js";
import { createBoundedQueries, type ClickHouseOptions } from "./client.js";
import { sqlMs, sqlString } from "./sql.js";

export interface AlertReadModelOptions {
  /** ClickHouse's own limit per query (max_execution_time), ms; the caller's signal cancels sooner. */
  readonly maxExecutionMs: number;
}

/** Most transitions one alert's history returns (a flapping alert's history is long, not endless). */
const MAX_HISTORY = 10_000;

// An alert's highest version, by argMax (not FINAL: 18.16 moves WHERE conditions to PREWHERE, before
// FINAL collapses the versions, so a filter on `state` would see old versions). Conditions on the
// mutable columns (state, severity) are HAVING on the aggregates; WHERE names only what never
// changes between versions (alert_id, device_id, rule, started_at_ms). Aliases differ from the
// column names: ClickHouse resolves aliases in WHERE too.
const ALERT_SELECT = `SELECT alert_id, argMax(device_id, version) AS a_device, argMax(rule, version) AS a_rule, argMax(metric, version) AS a_metric,
  argMax(severity, version) AS a_severity, argMax(state, version) AS a_state, argMax(started_at_ms, version) AS a_started,
  argMax(updated_at_ms, version) AS a_updated, argMax(resolved_at_ms, version) AS a_resolved, argMax(summary, version) AS a_summary,
  argMax(detail, version) AS a_detail, max(version) AS a_version
  FROM alerts`;

type AlertSql = {
  alert_id: string;
  a_device: string;
  a_rule: string;
  a_metric: string;
  a_severity: string;
  a_state: string;
  a_started: string;
  a_updated: string;
  a_resolved: string;
  a_summary: string;
  a_detail: string;
  a_version: string;
};

type TransitionSql = {
  alert_id: string;
  version: string;
  device_id: string;
  rule: string;
  metric: string;
  kind: string;
  state: string;
  severity: string;
  at_ms: string;
  started_at_ms: string;
  value: number;
  summary: string;
  by: string;
  reason: string;
  flapping: number;
};

/** Seconds of a ms time, for the DateTime partition column. */
const sec = (ms: number) => sqlMs(Math.floor(ms / 1000));
const list = (xs: readonly string[]) => xs.map(sqlString).join(", ");

/**
 * The AlertService's read model on ClickHouse: `alerts` (one row per version, ReplacingMergeTree by
 * version) for the current state, `alert_transitions` for the history and the flapping flag. Every
 * value from a request reaches SQL through `sqlString`/`sqlMs` (18.16 has no query parameters).
 */
export function createClickHouseAlertReadModel(o: ClickHouseOptions, opts: AlertReadModelOptions): AlertReadModel & { close(): Promise<void> } {
  const db = createBoundedQueries(o, opts.maxExecutionMs, "alert read model query");
  const rows = db.rows;
  /** The latest flapping flag of each alert (from its history), by alert id. */
  const flapping = async (alerts: readonly AlertSql[], signal?: AbortSignal): Promise<Map<string, boolean>> => {
    if (alerts.length === 0) return new Map();
    const devices = [...new Set(alerts.map((a) => a.a_device))];
    const got = await rows<{ alert_id: string; f: number }>(
      `SELECT alert_id, argMax(flapping, version) AS f FROM alert_transitions
       WHERE device_id IN (${list(devices)}) AND alert_id IN (${list(alerts.map((a) => a.alert_id))})
       GROUP BY alert_id`,
      signal,
    );
    return new Map(got.map((r) => [r.alert_id, Number(r.f) === 1]));
  };
  const alertsOf = async (got: AlertSql[], signal?: AbortSignal): Promise<AlertRow[]> => {
    const flaps = await flapping(got, signal);
    return got.map((r) => alertRow(r, flaps.get(r.alert_id) ?? false));
  };

  return {
    async listAlerts(q, signal) {
      const where = ["1 = 1"];
      if (q.deviceId !== "") where.push(`device_id = ${sqlString(q.deviceId)}`);
      if (q.rule !== "") where.push(`rule = ${sqlString(q.rule)}`);
      if (q.sinceMs !== undefined) where.push(`started_at >= toDateTime(${sec(q.sinceMs)})`, `started_at_ms >= ${sqlMs(q.sinceMs)}`);
      if (q.untilMs !== undefined) where.push(`started_at <= toDateTime(${sec(q.untilMs)})`, `started_at_ms < ${sqlMs(q.untilMs)}`);
      if (q.after !== undefined) {
        const s = sqlMs(q.after.startedAtMs);
        where.push(`started_at <= toDateTime(${sec(q.after.startedAtMs)})`, `(started_at_ms < ${s} OR (started_at_ms = ${s} AND alert_id > ${sqlString(q.after.alertId)}))`);
      }
      const having = ["1 = 1"];
      if (q.states.length > 0) having.push(`a_state IN (${list(q.states)})`);
      if (q.severities.length > 0) having.push(`a_severity IN (${list(q.severities)})`);
      const got = await rows<AlertSql>(
        `${ALERT_SELECT} WHERE ${where.join(" AND ")} GROUP BY alert_id HAVING ${having.join(" AND ")}
         ORDER BY a_started DESC, alert_id LIMIT ${sqlMs(q.limit)}`,
        signal,
      );
      return alertsOf(got, signal);
    },

    async getAlert(alertId, signal) {
      const got = await rows<AlertSql>(`${ALERT_SELECT} WHERE alert_id = ${sqlString(alertId)} GROUP BY alert_id`, signal);
      return (await alertsOf(got, signal))[0];
    },

    async history(alertId, signal) {
      // ReplacingMergeTree keyed (device_id, alert_id, version): FINAL leaves one row per version
      // (a replay writes equal rows). Only key columns are filtered, so PREWHERE cannot hide any.
      const device = deviceOfAlertId(alertId);
      if (device === undefined) return [];
      const got = await rows<TransitionSql>(
        `SELECT alert_id, version, device_id, rule, metric, kind, state, severity, at_ms, started_at_ms, value, summary, \`by\`, reason, flapping
         FROM alert_transitions FINAL
         WHERE device_id = ${sqlString(device)} AND alert_id = ${sqlString(alertId)}
         ORDER BY version LIMIT ${MAX_HISTORY}`,
        signal,
      );
      return got.map(transitionRecord);
    },

    close: () => db.close(),
  };
}

function alertRow(r: AlertSql, flapping: boolean): AlertRow {
  return {
    alertId: r.alert_id,
    deviceId: r.a_device,
    rule: r.a_rule,
    metric: r.a_metric,
    severity: r.a_severity,
    state: r.a_state,
    startedAtMs: Number(r.a_started),
    updatedAtMs: Number(r.a_updated),
    resolvedAtMs: Number(r.a_resolved),
    summary: r.a_summary,
    detail: r.a_detail,
    version: Number(r.a_version),
    flapping,
  };
}

function transitionRecord(r: TransitionSql): AlertTransitionRecord {
  return {
    alertId: r.alert_id,
    version: Number(r.version),
    deviceId: r.device_id,
    rule: r.rule,
    metric: r.metric,
    kind: r.kind,
    state: r.state,
    severity: r.severity,
    atMs: Number(r.at_ms),
    startedAtMs: Number(r.started_at_ms),
    value: Number(r.value),
    summary: r.summary,
    by: r.by,
    reason: r.reason,
    flapping: Number(r.flapping) === 1,
  };
}
