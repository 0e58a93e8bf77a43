import type { AlertRule } from "../../src/domain/alerts.js";
import { SEVERITIES } from "../../src/domain/alerts.js";

/**
 * Alert rules as configured (src/domain/alerts.ts): validation, and their compiled form — one
 * monomorphic object per rule with everything the per-reading evaluation needs precomputed.
 */

/** Rule ids: letters, digits, `-` and `_` (part of every alert id `<device>/<rule>/<n>`). */
const RULE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const KINDS = ["score", "threshold", "offline", "no-data"] as const;

/** Evaluation codes of the compiled rules. */
export const SCORE = 0;
export const ABOVE = 1;
export const BELOW = 2;
export const NO_DATA = 3;
export const OFFLINE = 4;

/** Severity index of `critical` (escalation stops there). */
export const CRITICAL = SEVERITIES.length - 1;

/** One rule, compiled: same shape for every kind (the hot loop stays monomorphic). */
export class CompiledRule {
  readonly id: string;
  readonly rule: AlertRule;
  /** SCORE | ABOVE | BELOW | NO_DATA | OFFLINE. */
  readonly code: number;
  /** What per-device state of the rule means: kind and metric. State of another signature is reset. */
  readonly sig: string;
  /** The metric looked up in a reading ("": a score rule over the reading's best score, or offline). */
  readonly metric: string;
  readonly raiseAt: number;
  readonly clearAt: number;
  readonly afterMs: number;
  readonly forMs: number;
  readonly clearForMs: number;
  readonly escalateAfterMs: number;
  /** Index in SEVERITIES. */
  readonly severity: number;
  readonly flapWindowMs: number;
  readonly flapMax: number;
  /** How long a flapping alert's condition must stay clear before it clears. */
  readonly flapClearMs: number;

  constructor(rule: AlertRule) {
    this.id = rule.id;
    this.rule = rule;
    this.code = rule.kind === "score" ? SCORE : rule.kind === "threshold" ? (rule.op === "above" ? ABOVE : BELOW) : rule.kind === "no-data" ? NO_DATA : OFFLINE;
    this.metric = rule.kind === "offline" ? "" : (rule.metric ?? "");
    this.sig = `${rule.kind}:${this.metric}`;
    this.raiseAt = rule.kind === "score" || rule.kind === "threshold" ? rule.raiseAt : 0;
    this.clearAt = rule.kind === "score" || rule.kind === "threshold" ? rule.clearAt : 0;
    this.afterMs = rule.kind === "no-data" ? rule.afterMs : 0;
    this.forMs = rule.forMs;
    this.clearForMs = rule.clearForMs;
    this.escalateAfterMs = rule.escalateAfterMs;
    this.severity = SEVERITIES.indexOf(rule.severity);
    this.flapWindowMs = rule.flap.windowMs;
    this.flapMax = rule.flap.maxChanges;
    this.flapClearMs = Math.max(rule.flap.windowMs, rule.clearForMs);
  }
}

/** A validated rule list, compiled. Per-device state is aligned to one of these (see state.ts). */
export interface RuleSet {
  readonly rules: readonly CompiledRule[];
  /** Rule id to index in `rules`. */
  readonly byId: ReadonlyMap<string, number>;
  /** The offline rules (raised by `onOffline`). */
  readonly offline: readonly CompiledRule[];
  /**
   * A device with no alert state is left alone by a reading whose best score is below this: the
   * lowest raise level of the score rules when every reading-driven rule is a score rule (a metric's
   * score never exceeds the best), -Infinity when a threshold or no-data rule needs every reading.
   */
  readonly quietBelow: number;
}

/** Compiles rules already checked by `checkAlertRules`. */
export function compileRules(rules: readonly AlertRule[]): RuleSet {
  const compiled = rules.map((r) => new CompiledRule(r));
  let quietBelow = Infinity;
  for (const r of compiled) {
    if (r.code === SCORE) quietBelow = Math.min(quietBelow, r.raiseAt);
    else if (r.code !== OFFLINE) quietBelow = -Infinity;
  }
  return {
    rules: compiled,
    byId: new Map(compiled.map((r, i) => [r.id, i])),
    offline: compiled.filter((r) => r.code === OFFLINE),
    quietBelow,
  };
}

/**
 * Checks alert rules field by field: throws a RangeError naming the rule (its id, or its position
 * when the id is unusable) and the field. Returns `rules` unchanged.
 */
export function checkAlertRules(rules: readonly AlertRule[]): readonly AlertRule[] {
  if (!Array.isArray(rules)) throw new RangeError(`alert rules: must be an array, got ${show(rules)}`);
  const seen = new Set<string>();
  for (let i = 0; i < rules.length; i++) checkRule(rules[i] as unknown, i, seen);
  return rules;
}

/**
 * Alert rules from untrusted input (e.g. JSON), checked by `checkAlertRules`: plain copies
 * holding only the fields of their kind.
 */
export function parseAlertRules(input: unknown): AlertRule[] {
  const rules = checkAlertRules(input as readonly AlertRule[]);
  return rules.map((r): AlertRule => {
    const base = { id: r.id, severity: r.severity, forMs: r.forMs, clearForMs: r.clearForMs, escalateAfterMs: r.escalateAfterMs, flap: { windowMs: r.flap.windowMs, maxChanges: r.flap.maxChanges } };
    switch (r.kind) {
      case "score":
        return { ...base, kind: "score", raiseAt: r.raiseAt, clearAt: r.clearAt, ...(r.metric !== undefined ? { metric: r.metric } : {}) };
      case "threshold":
        return { ...base, kind: "threshold", metric: r.metric, op: r.op, raiseAt: r.raiseAt, clearAt: r.clearAt };
      case "no-data":
        return { ...base, kind: "no-data", metric: r.metric, afterMs: r.afterMs };
      case "offline":
        return { ...base, kind: "offline" };
    }
  });
}

function checkRule(r: unknown, i: number, seen: Set<string>): void {
  if (typeof r !== "object" || r === null || Array.isArray(r)) throw new RangeError(`alert rule #${i}: must be an object, got ${show(r)}`);
  const o = r as Record<string, unknown>;
  const name = typeof o.id === "string" && RULE_ID.test(o.id) ? `alert rule ${JSON.stringify(o.id)}` : `alert rule #${i}`;
  const fail = (field: string, rule: string, v: unknown): never => {
    throw new RangeError(`${name}: ${field} ${rule}, got ${show(v)}`);
  };
  if (typeof o.id !== "string" || !RULE_ID.test(o.id)) fail("id", "must be 1-64 letters, digits, _ and -", o.id);
  if (seen.has(o.id as string)) fail("id", "must be unique among the rules", o.id);
  seen.add(o.id as string);
  if (!(KINDS as readonly unknown[]).includes(o.kind)) fail("kind", `must be one of ${KINDS.join(", ")}`, o.kind);
  if (!(SEVERITIES as readonly unknown[]).includes(o.severity)) fail("severity", `must be one of ${SEVERITIES.join(", ")}`, o.severity);
  for (const f of ["forMs", "clearForMs", "escalateAfterMs"] as const) if (!isDuration(o[f])) fail(f, "must be a finite number >= 0", o[f]);
  const flap = o.flap as Record<string, unknown> | null | undefined;
  if (typeof flap !== "object" || flap === null) fail("flap", "must be an object {windowMs, maxChanges}", flap);
  if (!isDuration(flap!.windowMs)) fail("flap.windowMs", "must be a finite number >= 0 (0: no flap suppression)", flap!.windowMs);
  if (!(Number.isSafeInteger(flap!.maxChanges) && (flap!.maxChanges as number) >= 2)) fail("flap.maxChanges", "must be an integer >= 2", flap!.maxChanges);
  const metric = (required: boolean) => {
    if (o.metric === undefined && !required) return;
    if (typeof o.metric !== "string" || o.metric.length === 0) fail("metric", "must be a non-empty string", o.metric);
  };
  const levels = () => {
    if (!Number.isFinite(o.raiseAt)) fail("raiseAt", "must be a finite number", o.raiseAt);
    if (!Number.isFinite(o.clearAt)) fail("clearAt", "must be a finite number", o.clearAt);
  };
  switch (o.kind) {
    case "score":
      metric(false);
      levels();
      if ((o.clearAt as number) > (o.raiseAt as number)) fail("clearAt", `must be <= raiseAt ${show(o.raiseAt)} (hysteresis)`, o.clearAt);
      return;
    case "threshold":
      metric(true);
      if (o.op !== "above" && o.op !== "below") fail("op", "must be above or below", o.op);
      levels();
      if (o.op === "above" && (o.clearAt as number) > (o.raiseAt as number)) fail("clearAt", `must be <= raiseAt ${show(o.raiseAt)} for op above`, o.clearAt);
      if (o.op === "below" && (o.clearAt as number) < (o.raiseAt as number)) fail("clearAt", `must be >= raiseAt ${show(o.raiseAt)} for op below`, o.clearAt);
      return;
    case "no-data":
      metric(true);
      if (!(isDuration(o.afterMs) && (o.afterMs as number) > 0)) fail("afterMs", "must be a finite number > 0", o.afterMs);
      return;
  }
}

function isDuration(v: unknown): boolean {
  return typeof v === "number" && Number.isFinite(v) && v >= 0;
}

function show(v: unknown): string {
  if (v === undefined || typeof v === "number") return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
