import { SEVERITIES, type AlertStateName, type AlertTransition, type Severity, type TransitionKind } from "../domain/alerts.js";
import type { Row } from "../ports/row-sink.js";
import { ShoalError } from "../base/errors.js";

/**
 * The AlertTransition an `alert_transitions` row stores (column names of ALERT_TRANSITIONS_SCHEMA,
 * src/domain/tables.ts; the device actor writes them with actors/alert's `transitionRow`). Rows come
 * back from the row log as objects with numbers (RowBinary and JSONEachRow alike), though a 64-bit
 * column may come as a string or bigint.
 */

const KINDS: readonly TransitionKind[] = ["raised", "escalated", "flapping", "acknowledged", "resolved", "cleared"];
const STATES: readonly AlertStateName[] = ["firing", "acknowledged", "resolved"];

/** The transition a row stores; throws a non-retryable ShoalError ("invalid_input") naming what is wrong. */
export function transitionFromRow(row: Row): AlertTransition {
  const alertId = str(row, "alert_id");
  if (alertId === "") bad("alert_id", row.alert_id);
  const kind = str(row, "kind") as TransitionKind;
  if (!KINDS.includes(kind)) bad("kind", row.kind);
  const state = str(row, "state") as AlertStateName;
  if (!STATES.includes(state)) bad("state", row.state);
  const severity = str(row, "severity") as Severity;
  if (!SEVERITIES.includes(severity)) bad("severity", row.severity);
  const version = num(row, "version");
  if (!(Number.isSafeInteger(version) && version >= 1)) bad("version", row.version);
  return {
    alertId,
    version,
    deviceId: str(row, "device_id"),
    rule: str(row, "rule"),
    metric: str(row, "metric"),
    kind,
    state,
    severity,
    atMs: num(row, "at_ms"),
    startedAtMs: num(row, "started_at_ms"),
    value: num(row, "value"),
    summary: str(row, "summary"),
    by: str(row, "by"),
    reason: str(row, "reason"),
    flapping: row.flapping === true || Number(row.flapping) === 1,
  };
}

function str(row: Row, k: string): string {
  const v = row[k];
  if (typeof v !== "string") bad(k, v);
  return v;
}

function num(row: Row, k: string): number {
  const v: unknown = row[k];
  const n = typeof v === "number" ? v : typeof v === "bigint" || (typeof v === "string" && v.trim() !== "") ? Number(v) : NaN;
  if (!Number.isFinite(n)) bad(k, v);
  return n;
}

function bad(column: string, v: unknown): never {
  throw new ShoalError(`alert_transitions row: bad ${column} ${JSON.stringify(typeof v === "bigint" ? String(v) : v)}`, { code: "invalid_input", retryable: false });
}
