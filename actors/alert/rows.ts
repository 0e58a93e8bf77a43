import type { AlertTransition } from "../../src/domain/alerts.js";
import type { Row } from "../../src/ports/row-sink.js";

/**
 * The two rows of a transition: its history row (ALERT_TRANSITIONS_SCHEMA) and the alert's
 * current state (ALERTS_SCHEMA, ReplacingMergeTree by version), src/domain/tables.ts.
 */

/** The `alert_transitions` row of a transition (flapping as 0/1). */
export function transitionRow(t: AlertTransition): Row {
  return {
    alert_id: t.alertId,
    version: t.version,
    device_id: t.deviceId,
    rule: t.rule,
    metric: t.metric,
    kind: t.kind,
    state: t.state,
    severity: t.severity,
    at_ms: t.atMs,
    started_at_ms: t.startedAtMs,
    value: t.value,
    summary: t.summary,
    by: t.by,
    reason: t.reason,
    flapping: t.flapping ? 1 : 0,
  };
}

/** The `alerts` row of the alert after a transition (resolved_at_ms 0 unless resolved; detail = reason). */
export function alertRow(t: AlertTransition): Row {
  return {
    alert_id: t.alertId,
    rule: t.rule,
    device_id: t.deviceId,
    metric: t.metric,
    severity: t.severity,
    state: t.state,
    started_at_ms: t.startedAtMs,
    updated_at_ms: t.atMs,
    resolved_at_ms: t.state === "resolved" ? t.atMs : 0,
    summary: t.summary,
    detail: t.reason,
    version: t.version,
  };
}
