import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AlertRow, AlertTransitionRecord } from "../ports/alert-read-model.js";
import type { Silence } from "../ports/alerts.js";
import { AlertSeverity, AlertState, TransitionKind } from "../gen/shoal/v1/alert_pb.js";
import type { AlertSchema, AlertTransitionSchema, SilenceSchema } from "../gen/shoal/v1/alert_pb.js";

/** Read-model rows, transitions and silences to AlertService messages. Unknown names map to UNSPECIFIED. */

const STATES: Readonly<Record<string, AlertState>> = { firing: AlertState.FIRING, acknowledged: AlertState.ACKNOWLEDGED, resolved: AlertState.RESOLVED };
const SEVERITIES: Readonly<Record<string, AlertSeverity>> = { info: AlertSeverity.INFO, warning: AlertSeverity.WARNING, critical: AlertSeverity.CRITICAL };
const KINDS: Readonly<Record<string, TransitionKind>> = {
  raised: TransitionKind.RAISED,
  escalated: TransitionKind.ESCALATED,
  flapping: TransitionKind.FLAPPING,
  acknowledged: TransitionKind.ACKNOWLEDGED,
  resolved: TransitionKind.RESOLVED,
  cleared: TransitionKind.CLEARED,
};

export const stateOf = (s: string): AlertState => (Object.hasOwn(STATES, s) ? STATES[s]! : AlertState.UNSPECIFIED);
export const severityOf = (s: string): AlertSeverity => (Object.hasOwn(SEVERITIES, s) ? SEVERITIES[s]! : AlertSeverity.UNSPECIFIED);
export const kindOf = (s: string): TransitionKind => (Object.hasOwn(KINDS, s) ? KINDS[s]! : TransitionKind.UNSPECIFIED);

export function alertOf(a: AlertRow): MessageInitShape<typeof AlertSchema> {
  return {
    alertId: a.alertId,
    deviceId: a.deviceId,
    rule: a.rule,
    metric: a.metric,
    severity: severityOf(a.severity),
    state: stateOf(a.state),
    startedAtMs: BigInt(a.startedAtMs),
    updatedAtMs: BigInt(a.updatedAtMs),
    resolvedAtMs: BigInt(a.resolvedAtMs),
    summary: a.summary,
    version: BigInt(a.version),
    flapping: a.flapping,
    detail: a.detail,
  };
}

export function transitionOf(t: AlertTransitionRecord): MessageInitShape<typeof AlertTransitionSchema> {
  return {
    alertId: t.alertId,
    version: BigInt(t.version),
    deviceId: t.deviceId,
    rule: t.rule,
    metric: t.metric,
    kind: kindOf(t.kind),
    state: stateOf(t.state),
    severity: severityOf(t.severity),
    atMs: BigInt(t.atMs),
    startedAtMs: BigInt(t.startedAtMs),
    value: t.value,
    summary: t.summary,
    by: t.by,
    reason: t.reason,
    flapping: t.flapping,
  };
}

export function silenceOf(s: Silence, nowMs: number): MessageInitShape<typeof SilenceSchema> {
  return {
    id: s.id,
    deviceId: s.deviceId ?? "",
    rule: s.rule ?? "",
    untilMs: BigInt(s.untilMs),
    createdAtMs: BigInt(s.createdAtMs),
    by: s.by,
    reason: s.reason,
    active: nowMs < s.untilMs,
  };
}
