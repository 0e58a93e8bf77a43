/**
 * The alert model shared by the alert logic (actors/alert), the notifier (src/alerts) and the
 * AlertService (src/alert-service): rules as configured, transitions as stored and published, and
 * the operator commands that travel to a device actor through the journal (docs/adr/0016-alerts.md).
 */

/** Severity levels, lowest first (escalation moves one step up, never past `critical`). */
export const SEVERITIES = ["info", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Flap suppression: `maxChanges` raises/clears of one rule within `windowMs` make the alert flapping. */
export interface FlapPolicy {
  readonly windowMs: number;
  readonly maxChanges: number;
}

interface RuleBase {
  /** Unique among the rules; part of every alert id. Letters, digits, `-` and `_`. */
  readonly id: string;
  readonly severity: Severity;
  /** The condition must hold this long (readings' time) before the alert is raised. 0: at once. */
  readonly forMs: number;
  /** The condition must stay clear this long (readings' time) before the alert clears. 0: at once. */
  readonly clearForMs: number;
  /** An open, unacknowledged alert goes one severity up after this long. 0: never. */
  readonly escalateAfterMs: number;
  readonly flap: FlapPolicy;
}

/**
 * Score above a level: raise when the score (the reading's best, or `metric`'s) is >= raiseAt,
 * clear when it is < clearAt (hysteresis: clearAt <= raiseAt).
 */
export interface ScoreRule extends RuleBase {
  readonly kind: "score";
  readonly metric?: string;
  readonly raiseAt: number;
  readonly clearAt: number;
}

/**
 * A metric's value past a threshold: `above` raises when value >= raiseAt and clears when value <
 * clearAt (clearAt <= raiseAt); `below` raises when value <= raiseAt and clears when value > clearAt
 * (clearAt >= raiseAt).
 */
export interface ThresholdRule extends RuleBase {
  readonly kind: "threshold";
  readonly metric: string;
  readonly op: "above" | "below";
  readonly raiseAt: number;
  readonly clearAt: number;
}

/** The device went silent (its heartbeat timeout passed): raised then, cleared by its next reading. */
export interface OfflineRule extends RuleBase {
  readonly kind: "offline";
}

/**
 * A metric the device sent before has been absent for `afterMs` (readings' time) while the device
 * keeps sending others: raised by the first reading that shows it, cleared when the metric returns.
 */
export interface NoDataRule extends RuleBase {
  readonly kind: "no-data";
  readonly metric: string;
  readonly afterMs: number;
}

export type AlertRule = ScoreRule | ThresholdRule | OfflineRule | NoDataRule;

/** What happened to an alert. */
export type TransitionKind = "raised" | "escalated" | "flapping" | "acknowledged" | "resolved" | "cleared";
/** An alert's state after a transition. `resolved` is final (by an operator or because the condition cleared). */
export type AlertStateName = "firing" | "acknowledged" | "resolved";

/**
 * One change of one alert, as stored (ClickHouse `alert_transitions`, the current state in `alerts`)
 * and published (`shoal.alerts.<deviceId>`). `(alertId, version)` identifies it: versions count 1, 2,
 * ... per alert, so a replay or a retry reproduces the same key and consumers de-duplicate on it.
 */
export interface AlertTransition {
  /** `<deviceId>/<ruleId>/<n>`: n counts the alerts of that rule on that device (deterministic under replay). */
  readonly alertId: string;
  readonly version: number;
  readonly deviceId: string;
  readonly rule: string;
  /** The metric concerned ("" for offline, or a score rule over every metric when none scored). */
  readonly metric: string;
  readonly kind: TransitionKind;
  readonly state: AlertStateName;
  readonly severity: Severity;
  /** When it happened: the reading's time for reading-driven changes, the actor's clock otherwise. */
  readonly atMs: number;
  /** When the alert was raised (same for every version). */
  readonly startedAtMs: number;
  /** The value that caused it (score, metric value, or silence length in ms); 0 when none. */
  readonly value: number;
  /** One line for humans. */
  readonly summary: string;
  /** Who did it: "" for the system, the operator's name for acknowledge/resolve. */
  readonly by: string;
  /** Why (an operator's reason, or the rule's explanation). */
  readonly reason: string;
  /** True while the alert is flapping (raises/clears of its rule are not notified one by one). */
  readonly flapping: boolean;
}

export type { AlertCommand } from "../ports/alerts.js";

/** The device id of an alert id (`<deviceId>/<ruleId>/<n>`), or undefined when it is not one. */
export function deviceOfAlertId(alertId: string): string | undefined {
  const m = /^(.+)\/([A-Za-z0-9_-]+)\/(\d+)$/.exec(alertId);
  return m === null ? undefined : m[1];
}

/** The alert id of a device's n-th alert of a rule. */
export function alertIdOf(deviceId: string, ruleId: string, n: number): string {
  return `${deviceId}/${ruleId}/${n}`;
}
