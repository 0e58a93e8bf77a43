import type { AlertStateName, AlertTransition, TransitionKind } from "../../src/domain/alerts.js";
import { alertIdOf, SEVERITIES } from "../../src/domain/alerts.js";
import type { CompiledRule } from "./rules.js";
import type { Slot } from "./state.js";
import { clearSummary, flapSummary, fmtDuration, raiseSummary } from "./text.js";

/**
 * The moves of one alert: each changes its slot, then appends the transition (version = the
 * previous + 1; the alert's start, metric and counter stay). Called only when something happens,
 * so they may allocate.
 */

/** Appends the transition of `s`'s alert as it now is. */
function emit(out: AlertTransition[], deviceId: string, s: Slot, kind: TransitionKind, state: AlertStateName, atMs: number, value: number, summary: string, by: string, reason: string): void {
  out.push({
    alertId: alertIdOf(deviceId, s.rule, s.n),
    version: s.version,
    deviceId,
    rule: s.rule,
    metric: s.metric,
    kind,
    state,
    severity: SEVERITIES[s.severity]!,
    atMs,
    startedAtMs: s.startedAtMs,
    value,
    summary,
    by,
    reason,
    flapping: s.flapping,
  });
}

/** Raises a new alert at `t` (kind "flapping" when this raise makes the rule flap). */
export function raise(out: AlertTransition[], deviceId: string, s: Slot, r: CompiledRule, t: number, v: number, metric: string): void {
  const changes = recentChanges(s, r, t) + 1;
  s.n++;
  s.version = 1;
  s.acked = false;
  s.rearm = false;
  s.since = NaN;
  s.startedAtMs = t;
  s.escAtMs = t;
  s.severity = r.severity;
  s.metric = metric;
  s.flapping = changes >= r.flapMax;
  noteChange(s, r, t);
  const why = raiseSummary(r, v, metric);
  emit(out, deviceId, s, s.flapping ? "flapping" : "raised", "firing", t, v, s.flapping ? flapSummary(r, changes, why) : why, "", "");
}

/**
 * The open (not flapping) alert's clear condition held long enough: it clears, or, when this clear
 * makes the rule flap, it stays open as flapping.
 */
export function clearOrFlap(out: AlertTransition[], deviceId: string, s: Slot, r: CompiledRule, t: number, v: number): void {
  const changes = recentChanges(s, r, t) + 1;
  noteChange(s, r, t);
  s.since = NaN;
  const why = clearSummary(r, v, s.metric);
  if (changes < r.flapMax) {
    close(out, deviceId, s, "cleared", t, v, why, "", "");
    return;
  }
  s.flapping = true;
  s.version++;
  emit(out, deviceId, s, "flapping", s.acked ? "acknowledged" : "firing", t, v, flapSummary(r, changes, why), "", "");
}

/** The flapping alert's condition stayed clear for the flap window: it clears. */
export function clearFlapping(out: AlertTransition[], deviceId: string, s: Slot, r: CompiledRule, t: number, v: number): void {
  noteChange(s, r, t);
  close(out, deviceId, s, "cleared", t, v, `${clearSummary(r, v, s.metric)} for ${fmtDuration(t - s.since)}: no longer flapping`, "", "");
}

/** The alert goes one severity up (the caller checked it is open, unacknowledged and below critical). */
export function escalate(out: AlertTransition[], deviceId: string, s: Slot, t: number, v: number): void {
  const from = SEVERITIES[s.severity]!;
  const waited = t - s.escAtMs;
  s.severity++;
  s.version++;
  s.escAtMs = t;
  emit(out, deviceId, s, "escalated", "firing", t, v, `unacknowledged for ${fmtDuration(waited)}: ${from} → ${SEVERITIES[s.severity]!}`, "", "");
}

/** An operator acknowledged the open alert (the caller checked it is not acknowledged yet). */
export function acknowledge(out: AlertTransition[], deviceId: string, s: Slot, atMs: number, by: string, reason: string): void {
  s.acked = true;
  s.version++;
  emit(out, deviceId, s, "acknowledged", "acknowledged", atMs, 0, by === "" ? "acknowledged" : `acknowledged by ${by}`, by, reason);
}

/** Closes the open alert: its final transition (state resolved). */
export function close(out: AlertTransition[], deviceId: string, s: Slot, kind: "cleared" | "resolved", atMs: number, value: number, summary: string, by: string, reason: string): void {
  s.version++;
  s.flapping = false;
  s.since = NaN;
  emit(out, deviceId, s, kind, "resolved", atMs, value, summary, by, reason);
  s.version = 0;
  s.acked = false;
}

/** Raises and clears of the rule within its flap window before `t` (older ones are forgotten). */
function recentChanges(s: Slot, r: CompiledRule, t: number): number {
  const c = s.changes;
  if (c === null) return 0;
  let k = 0;
  for (let i = 0; i < c.length; i++) {
    const e = c[i]!;
    if (t - e < r.flapWindowMs) c[k++] = e;
  }
  if (k === 0) {
    s.changes = null;
    return 0;
  }
  c.length = k;
  return k;
}

/** Counts a raise or clear at `t` (only the last flapMax - 1 matter). */
function noteChange(s: Slot, r: CompiledRule, t: number): void {
  if (r.flapWindowMs <= 0) return;
  if (s.changes === null) s.changes = [t];
  else s.changes.push(t);
  while (s.changes.length > r.flapMax - 1) s.changes.shift();
}
