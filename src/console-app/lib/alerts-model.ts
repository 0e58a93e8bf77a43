import type { Alert, AlertTransition } from "../../gen/shoal/v1/alert_pb.js";
import { AlertSeverity, AlertState } from "../../gen/shoal/v1/alert_pb.js";
import type { AlertStateName, SeverityName } from "./router.js";

/**
 * The alerts page's list: the pages ListAlerts gave, kept current by the transitions WatchAlerts
 * streams. A transition carries (alert_id, version): an older or equal version than the row's is a
 * replay and changes nothing; an alert that stops matching the filter (resolved while the page shows
 * the open ones) leaves the list; a new one that matches enters it in ListAlerts' order.
 */
export interface AlertRow {
  readonly alertId: string;
  readonly deviceId: string;
  readonly rule: string;
  readonly metric: string;
  readonly severity: AlertSeverity;
  readonly state: AlertState;
  readonly startedAtMs: number;
  readonly updatedAtMs: number;
  readonly resolvedAtMs: number;
  readonly summary: string;
  readonly detail: string;
  readonly version: number;
  readonly flapping: boolean;
}

/** What the page lists (the URL's filters). */
export interface AlertFilter {
  readonly states: readonly AlertStateName[];
  /** "" = every device. */
  readonly device: string;
  readonly minSeverity?: SeverityName;
}

/** Rows kept at most: a page left open all day does not grow without bound (the oldest go). */
export const MAX_ALERT_ROWS = 2000;

const STATE_BY_NAME: Record<AlertStateName, AlertState> = {
  open: AlertState.FIRING,
  acknowledged: AlertState.ACKNOWLEDGED,
  resolved: AlertState.RESOLVED,
};

const SEVERITY_BY_NAME: Record<SeverityName, AlertSeverity> = {
  info: AlertSeverity.INFO,
  warning: AlertSeverity.WARNING,
  critical: AlertSeverity.CRITICAL,
};

/** The URL's state names as the enum ListAlerts takes. */
export function statesOf(names: readonly AlertStateName[]): AlertState[] {
  return names.map((n) => STATE_BY_NAME[n]);
}

export function severityOf(name: SeverityName | undefined): AlertSeverity {
  return name === undefined ? AlertSeverity.UNSPECIFIED : SEVERITY_BY_NAME[name];
}

/** "open", "acknowledged", "resolved" (or "unknown"). */
export function stateLabel(s: AlertState): string {
  switch (s) {
    case AlertState.FIRING:
      return "open";
    case AlertState.ACKNOWLEDGED:
      return "acknowledged";
    case AlertState.RESOLVED:
      return "resolved";
    default:
      return "unknown";
  }
}

export function severityLabel(s: AlertSeverity): string {
  switch (s) {
    case AlertSeverity.INFO:
      return "info";
    case AlertSeverity.WARNING:
      return "warning";
    case AlertSeverity.CRITICAL:
      return "critical";
    default:
      return "–";
  }
}

export function fromAlert(a: Alert): AlertRow {
  return {
    alertId: a.alertId,
    deviceId: a.deviceId,
    rule: a.rule,
    metric: a.metric,
    severity: a.severity,
    state: a.state,
    startedAtMs: Number(a.startedAtMs),
    updatedAtMs: Number(a.updatedAtMs),
    resolvedAtMs: Number(a.resolvedAtMs),
    summary: a.summary,
    detail: a.detail,
    version: Number(a.version),
    flapping: a.flapping,
  };
}

/** Does `row` belong in a list filtered by `f`? */
export function matches(row: Pick<AlertRow, "state" | "deviceId" | "severity">, f: AlertFilter): boolean {
  if (f.device !== "" && row.deviceId !== f.device) return false;
  if (f.minSeverity !== undefined && row.severity < SEVERITY_BY_NAME[f.minSeverity]) return false;
  return statesOf(f.states).includes(row.state);
}

/** ListAlerts' order: newest start first, then alert id. */
export function compareRows(a: AlertRow, b: AlertRow): number {
  if (a.startedAtMs !== b.startedAtMs) return b.startedAtMs - a.startedAtMs;
  return a.alertId < b.alertId ? -1 : a.alertId > b.alertId ? 1 : 0;
}

function rowOfTransition(t: AlertTransition, before: AlertRow | undefined): AlertRow {
  const at = Number(t.atMs);
  return {
    alertId: t.alertId,
    deviceId: t.deviceId,
    rule: t.rule,
    metric: t.metric,
    severity: t.severity,
    state: t.state,
    startedAtMs: Number(t.startedAtMs) || before?.startedAtMs || at,
    updatedAtMs: at,
    resolvedAtMs: t.state === AlertState.RESOLVED ? at : 0,
    summary: t.summary || before?.summary || "",
    detail: t.reason || before?.detail || "",
    version: Number(t.version),
    flapping: t.flapping,
  };
}

/**
 * The list after transition `t`; the same array when nothing changed (a replay, or an alert that
 * neither was nor now is in the list).
 */
export function applyTransition(rows: readonly AlertRow[], t: AlertTransition, f: AlertFilter): readonly AlertRow[] {
  const i = rows.findIndex((r) => r.alertId === t.alertId);
  const before = i >= 0 ? rows[i] : undefined;
  if (before !== undefined && Number(t.version) <= before.version) return rows;
  const after = rowOfTransition(t, before);
  const keep = matches(after, f);
  if (before === undefined && !keep) return rows;
  const next = rows.slice();
  if (before !== undefined) {
    if (keep) next[i] = after;
    else next.splice(i, 1);
    return next;
  }
  let at = next.findIndex((r) => compareRows(after, r) < 0);
  if (at < 0) at = next.length;
  next.splice(at, 0, after);
  if (next.length > MAX_ALERT_ROWS) next.length = MAX_ALERT_ROWS;
  return next;
}

/** Rows of another page appended (ids already listed, e.g. entered live meanwhile, are skipped). */
export function appendPage(rows: readonly AlertRow[], page: readonly AlertRow[]): readonly AlertRow[] {
  const seen = new Set(rows.map((r) => r.alertId));
  const next = rows.concat(page.filter((r) => !seen.has(r.alertId)));
  if (next.length > MAX_ALERT_ROWS) next.length = MAX_ALERT_ROWS;
  return next;
}

/** Replaces a row with the alert a command returned (when its version is newer). */
export function applyAlert(rows: readonly AlertRow[], a: Alert, f: AlertFilter): readonly AlertRow[] {
  const row = fromAlert(a);
  const i = rows.findIndex((r) => r.alertId === row.alertId);
  if (i < 0 || rows[i]!.version >= row.version) return rows;
  const next = rows.slice();
  if (matches(row, f)) next[i] = row;
  else next.splice(i, 1);
  return next;
}
