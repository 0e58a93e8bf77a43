import { DEVICE_ID_RE } from "../domain/reading-codec.js";
import { deviceOfAlertId, SEVERITIES } from "../domain/alerts.js";
import { AlertSeverity, AlertState } from "../gen/shoal/v1/alert_pb.js";
import { invalid, time } from "../query/validate.js";

/**
 * Request validation of the AlertService: every bad argument is INVALID_ARGUMENT with a reason
 * naming the field (the query service's `invalid`, so both read alike).
 */

export { deviceId, invalid, limit, optionalDeviceId } from "../query/validate.js";

const RULE_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SILENCE_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const MINUTE = 60_000;
const DAY = 86_400_000;
/** Shortest and longest silence. */
export const MIN_SILENCE_MS = MINUTE;
export const MAX_SILENCE_MS = 30 * DAY;

/** `<deviceId>/<ruleId>/<n>` as the device actors make them. */
export function alertId(v: string, field = "alert_id"): string {
  if (v === "") throw invalid(field, "required");
  const device = v.length <= 256 ? deviceOfAlertId(v) : undefined;
  if (device === undefined || !DEVICE_ID_RE.test(device) || !RULE_RE.test(v.split("/").at(-2) ?? "")) throw invalid(field, "must be <device_id>/<rule>/<n>");
  return v;
}

/** A rule id or "" (every rule). */
export function optionalRule(v: string, field = "rule"): string {
  if (v !== "" && !RULE_RE.test(v)) throw invalid(field, `must match ${RULE_RE.source}`);
  return v;
}

/** Who asked: required, 1..128 characters, no control characters (surrounding spaces dropped). */
export function who(v: string, field = "by"): string {
  const t = v.trim();
  if (t === "") throw invalid(field, "required (who asks)");
  if (t.length > 128) throw invalid(field, "longer than 128 characters");
  if (CONTROL_RE.test(t)) throw invalid(field, "must not contain control characters");
  return t;
}

/** Why: at most 1024 characters (may be empty). */
export function reason(v: string, field = "reason"): string {
  if (v.length > 1024) throw invalid(field, "longer than 1024 characters");
  return v;
}

export function silenceId(v: string, field = "id"): string {
  if (v === "") throw invalid(field, "required");
  if (!SILENCE_ID_RE.test(v)) throw invalid(field, `must match ${SILENCE_ID_RE.source}`);
  return v;
}

/** A silence's length: 1 min .. 30 days. */
export function silenceMs(v: bigint, field = "duration_ms"): number {
  const n = Number(v);
  if (n < MIN_SILENCE_MS || n > MAX_SILENCE_MS) throw invalid(field, `must be between ${MIN_SILENCE_MS} (1 min) and ${MAX_SILENCE_MS} (30 days)`);
  return n;
}

const STATE_NAMES: ReadonlyMap<AlertState, string> = new Map([
  [AlertState.FIRING, "firing"],
  [AlertState.ACKNOWLEDGED, "acknowledged"],
  [AlertState.RESOLVED, "resolved"],
]);

/** States to filter on, as stored ("" for none: any state). */
export function states(v: readonly AlertState[], field = "states"): string[] {
  const out = new Set<string>();
  for (const s of v) {
    const name = STATE_NAMES.get(s);
    if (name === undefined) throw invalid(field, `${AlertState[s] ?? s} is not a state to filter on (FIRING, ACKNOWLEDGED, RESOLVED)`);
    out.add(name);
  }
  return [...out];
}

/** The severities at or above `min`, as stored (empty: any). */
export function severitiesFrom(min: AlertSeverity, field = "min_severity"): string[] {
  if (min === AlertSeverity.UNSPECIFIED) return [];
  const i = min - AlertSeverity.INFO;
  if (!Number.isInteger(i) || i < 0 || i >= SEVERITIES.length) throw invalid(field, `unknown severity ${min}`);
  return SEVERITIES.slice(i);
}

/** [since, until) on started_at: each optional (0), since < until when both. */
export function startedRange(since: bigint, until: bigint): { sinceMs?: number; untilMs?: number } {
  const sinceMs = since === 0n ? undefined : time(since, "since_ms");
  const untilMs = until === 0n ? undefined : time(until, "until_ms");
  if (sinceMs !== undefined && untilMs !== undefined && sinceMs >= untilMs) throw invalid("until_ms", "must be after since_ms");
  return { ...(sinceMs !== undefined ? { sinceMs } : {}), ...(untilMs !== undefined ? { untilMs } : {}) };
}
