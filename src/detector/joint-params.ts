/**
 * Parameters of the device-level (joint) model (joint.ts, docs/adr/0022-device-level-detection.md).
 * One global set serves every device; nothing is tuned per device. Rates are per reading.
 */
export interface JointParams {
  /** Rate of each metric's level (Holt's α): how fast the baseline follows the values, in (0, 1]. */
  readonly levelRate: number;
  /** Rate of each metric's trend (Holt's β): how fast the baseline learns a drift's slope, in [0, 1]. */
  readonly trendRate: number;
  /** Rate of each metric's scale (mean absolute residual) and of the residuals' correlation, in (0, 1]. */
  readonly scaleRate: number;
  /** Rate of the short average of the conditional residuals: the smaller, the longer a break must last, in (0, 1]. */
  readonly smoothing: number;
  /** Ridge added to the correlation's diagonal (keeps it invertible when metrics are collinear), > 0. */
  readonly ridge: number;
  /** Residuals beyond this many scales are clipped before they update the model or the short average, > 0. */
  readonly clip: number;
  /** Readings before the model scores (it learns meanwhile). Integer ≥ 0. */
  readonly warmup: number;
  /** Statistic (largest smoothed conditional residual, in its own standard deviations) where the score is 0.5. */
  readonly midpoint: number;
  /** Slope of the logistic from the statistic to the score, > 0. */
  readonly slope: number;
  /** Score at which the model raises an alarm and then rests until the relation is back, in (0, 1]. */
  readonly alarmScore: number;
  /** Factor applied to scores while resting after an alarm, in [0, 1]. */
  readonly restDamping: number;
  /** Weight of an anomalous reading (statistic above the midpoint) in the model's updates, in [0, 1]: rate-limited adaptation. */
  readonly anomalyWeight: number;
}

/** Defaults, chosen by measurement (ADR 0022). */
export const defaultJointParams: JointParams = Object.freeze({
  levelRate: 0.005,
  trendRate: 0.05,
  scaleRate: 0.002,
  smoothing: 0.05,
  ridge: 0.0001,
  clip: 4,
  warmup: 300,
  midpoint: 4.5,
  slope: 1.5,
  anomalyWeight: 0.05,
  alarmScore: 0.9,
  restDamping: 0.3,
});

type Rule = readonly [key: keyof JointParams, integer: boolean, min: number, max: number, minOpen: boolean];

const RULES: readonly Rule[] = [
  ["levelRate", false, 0, 1, true],
  ["trendRate", false, 0, 1, false],
  ["scaleRate", false, 0, 1, true],
  ["smoothing", false, 0, 1, true],
  ["ridge", false, 0, 1e6, true],
  ["clip", false, 0, 1e6, true],
  ["warmup", true, 0, 1e9, false],
  ["midpoint", false, 0, 1e6, false],
  ["slope", false, 0, 1e6, true],
  ["anomalyWeight", false, 0, 1, false],
  ["alarmScore", false, 0, 1, true],
  ["restDamping", false, 0, 1, false],
];

/** Names of the parameters, in serialisation order (append only). */
export const JOINT_PARAM_KEYS: readonly (keyof JointParams)[] = RULES.map((r) => r[0]);

/**
 * Fills defaults and validates. Throws a RangeError naming the field and the rule, e.g.
 * `detector.joint.smoothing must be a number in (0, 1], got 2`.
 */
export function resolveJointParams(partial: Partial<JointParams> = {}): JointParams {
  const out: Record<string, number> = { ...defaultJointParams };
  for (const [key, value] of Object.entries(partial)) {
    if (value === undefined) continue;
    if (!(key in defaultJointParams)) throw new RangeError(`detector.joint.${key} is not a parameter of the device-level model`);
    out[key] = value;
  }
  for (const [key, integer, min, max, minOpen] of RULES) {
    const v = out[key]!;
    const okType = typeof v === "number" && Number.isFinite(v) && (!integer || Number.isInteger(v));
    const okRange = okType && (minOpen ? v > min : v >= min) && v <= max;
    if (!okRange) throw new RangeError(`detector.joint.${key} must be ${integer ? "an integer" : "a number"} in ${minOpen ? "(" : "["}${min}, ${max}], got ${String(v)}`);
  }
  return Object.freeze(out as unknown as JointParams);
}
