/**
 * The device-level (joint) model: a causal, streaming model of the relation between a device's
 * metrics (docs/adr/0022-device-level-detection.md), beside the per-metric detectors.
 *
 * Per reading of k metrics:
 * 1. Each metric's residual against its own baseline, a Holt level + trend that follows slow drift
 *    (`levelRate`, `trendRate`), in units of its robust scale (mean absolute residual, `scaleRate`).
 * 2. The residuals' correlation (a running average of their products, clipped at `clip`, plus a
 *    `ridge`) says how the metrics move together. Each metric's *conditional* residual — how far it
 *    is from what the others predict, (P z)_i / √P_ii with P the inverse correlation — is near
 *    N(0, 1) while the relation holds, whatever each metric's own level does.
 * 3. A short average of those (`smoothing`) makes a break that lasts stand out from noise; the
 *    statistic is the largest of them in their own standard deviations, the score a logistic of it
 *    (`midpoint`, `slope`), 0 for the first `warmup` readings.
 * 4. Rate-limited adaptation: a reading whose statistic is above the midpoint updates the model with
 *    weight `anomalyWeight`, so a broken relation keeps alarming for a while before it becomes the
 *    new normal.
 * A reading missing any of the k metrics (NaN) is skipped: no update, score 0.
 *
 * State: caller-owned float64 slots (`jointSlots(k)`), so a device actor keeps one array per device
 * and snapshots it as it is. Pure, deterministic, allocation-free per reading (scratch shared).
 */
import type { JointParams } from "./joint-params.js";

/** Metrics the joint model covers at most (a device's first ones, in first-seen order). */
export const JOINT_MAX_METRICS = 64;

const J_N = 0; // readings seen
const J_ARMED = 1; // 1 while an alarm may be raised; 0 after one, until the statistic is back below the midpoint
const HEAD = 2;
const PER = 5; // per metric: level, trend, scale, smoothed conditional residual, its mean square
const M_LEVEL = 0;
const M_TREND = 1;
const M_SCALE = 2;
const M_SMOOTH = 3;
const M_VAR = 4;

/** Float64 slots of the state for k metrics: 2 + 5k + k(k+1)/2. */
export function jointSlots(k: number): number {
  return HEAD + PER * k + (k * (k + 1)) / 2;
}

/** Bytes of the state of one device with k metrics (0 for one metric: no joint model). */
export function jointStateBytes(k: number): number {
  return k < 2 ? 0 : jointSlots(k) * 8;
}

/** Index of the correlation entry (i, j), i ≤ j, relative to the state's start. */
function cov(k: number, i: number, j: number): number {
  return HEAD + PER * k + (j * (j + 1)) / 2 + i;
}

/** Writes a fresh state for k metrics at `off`: no reading seen, identity correlation. */
export function initJoint(st: Float64Array, off: number, k: number): void {
  st.fill(0, off, off + jointSlots(k));
  st[off + J_ARMED] = 1;
  for (let i = 0; i < k; i++) st[off + cov(k, i, i)] = 1;
}

// Scratch, shared by every model of the thread (sized for JOINT_MAX_METRICS).
const Z = new Float64Array(JOINT_MAX_METRICS);
const R = new Float64Array(JOINT_MAX_METRICS);
const G = new Float64Array(JOINT_MAX_METRICS * JOINT_MAX_METRICS);
const Y = new Float64Array(JOINT_MAX_METRICS);
const PD = new Float64Array(JOINT_MAX_METRICS);
const X = new Float64Array(JOINT_MAX_METRICS);

/**
 * Feeds one reading (`values[i]` = metric i; NaN = absent) and returns the joint score in [0, 1];
 * `contrib[i]` gets metric i's share (|smoothed conditional residual|, larger = more responsible).
 */
export function jointUpdate(p: JointParams, st: Float64Array, off: number, k: number, values: ArrayLike<number>, contrib: Float64Array): number {
  for (let i = 0; i < k; i++) if (!Number.isFinite(values[i]!)) return 0;
  const n = st[off + J_N]!;
  if (n === 0) {
    for (let i = 0; i < k; i++) {
      const m = off + HEAD + PER * i;
      st[m + M_LEVEL] = values[i]!;
      st[m + M_TREND] = 0;
      st[m + M_SCALE] = 0;
      st[m + M_SMOOTH] = 0;
      st[m + M_VAR] = 0;
    }
    st[off + J_N] = 1;
    return 0;
  }
  const clip = p.clip;
  const learning = n < 10; // too few residuals for a scale: nothing is clipped yet
  // 1. Residuals against the drift-following baselines, in robust scales.
  for (let i = 0; i < k; i++) {
    const m = off + HEAD + PER * i;
    const level = st[m + M_LEVEL]!;
    const r = values[i]! - (level + st[m + M_TREND]!);
    const s = Math.max(1.2533 * st[m + M_SCALE]!, 1e-9 + 1e-9 * Math.abs(level));
    const z = r / s;
    R[i] = r;
    Z[i] = learning ? Math.max(-clip, Math.min(clip, z)) : z < -clip ? -clip : z > clip ? clip : z;
  }
  // 2. Cholesky of correlation + ridge (lower G, row-major k×k), then P z and diag(P).
  const cb = off + HEAD + PER * k; // the correlation's upper triangle, column by column
  for (let i = 0; i < k; i++) {
    const col = cb + (i * (i + 1)) / 2;
    for (let j = 0; j <= i; j++) {
      let sum = st[col + j]! + (i === j ? p.ridge : 0);
      for (let q = 0; q < j; q++) sum -= G[i * k + q]! * G[j * k + q]!;
      G[i * k + j] = i === j ? Math.sqrt(Math.max(sum, 1e-12)) : sum / G[j * k + j]!;
    }
  }
  // y = G⁻¹ z (forward), then P z = G⁻ᵀ y (backward, into Y in place).
  for (let i = 0; i < k; i++) {
    let sum = Z[i]!;
    for (let q = 0; q < i; q++) sum -= G[i * k + q]! * Y[q]!;
    Y[i] = sum / G[i * k + i]!;
  }
  for (let i = k - 1; i >= 0; i--) {
    let sum = Y[i]!;
    for (let q = i + 1; q < k; q++) sum -= G[q * k + i]! * Y[q]!;
    Y[i] = sum / G[i * k + i]!;
  }
  // diag(P): P = G⁻ᵀG⁻¹, so P_cc is the sum of squares of column c of G⁻¹ (solve G x = e_c).
  for (let c = 0; c < k; c++) {
    let pc = 0;
    for (let r = c; r < k; r++) {
      let sum = r === c ? 1 : 0;
      for (let q = c; q < r; q++) sum -= G[r * k + q]! * X[q]!;
      const x = sum / G[r * k + r]!;
      X[r] = x;
      pc += x * x;
    }
    PD[c] = pc;
  }
  // 3. Smoothed conditional residuals and the statistic.
  // The short average's own spread is learnt (residuals of smooth signals are autocorrelated, so
  // the white-noise value a/(2−a) would be too small); it never counts below a quarter of that.
  const a = p.smoothing;
  const floor = (0.25 * a) / (2 - a);
  let stat = 0;
  for (let i = 0; i < k; i++) {
    const m = off + HEAD + PER * i;
    let c = Y[i]! / Math.sqrt(PD[i]!);
    c = c < -clip ? -clip : c > clip ? clip : c;
    const e = st[m + M_SMOOTH]! + a * (c - st[m + M_SMOOTH]!);
    st[m + M_SMOOTH] = e;
    const x = Math.abs(e) / Math.sqrt(Math.max(st[m + M_VAR]!, floor));
    contrib[i] = x;
    if (x > stat) stat = x;
  }
  const scoring = n >= p.warmup;
  let score = scoring ? 1 / (1 + Math.exp(-p.slope * (stat - p.midpoint))) : 0;
  // One alarm per episode: after a score reaches `alarmScore`, scores are damped until the statistic
  // is back below the midpoint (a broken relation that lasts is one incident, not one per reading).
  if (st[off + J_ARMED] === 1) {
    if (score >= p.alarmScore) st[off + J_ARMED] = 0;
  } else {
    score *= p.restDamping;
    if (stat < p.midpoint) st[off + J_ARMED] = 1;
  }
  // 4. Updates, weighted down while the relation is broken.
  const w = scoring && stat > p.midpoint ? p.anomalyWeight : 1;
  const rs = Math.max(p.scaleRate, 1 / (n + 1)) * w;
  for (let i = 0; i < k; i++) {
    const m = off + HEAD + PER * i;
    const s = 1.2533 * st[m + M_SCALE]!;
    const r = R[i]!;
    const rc = learning || s === 0 ? r : Math.max(-clip * s, Math.min(clip * s, r));
    const step = p.levelRate * w * rc;
    st[m + M_LEVEL] = st[m + M_LEVEL]! + st[m + M_TREND]! + step;
    st[m + M_TREND] = st[m + M_TREND]! + p.trendRate * step;
    st[m + M_SCALE] = st[m + M_SCALE]! + rs * (Math.abs(rc) - st[m + M_SCALE]!);
    const e = st[m + M_SMOOTH]!;
    st[m + M_VAR] = st[m + M_VAR]! + rs * (e * e - st[m + M_VAR]!);
  }
  for (let j = 0; j < k; j++) {
    const col = cb + (j * (j + 1)) / 2;
    const zj = Z[j]!;
    for (let i = 0; i <= j; i++) st[col + i] = st[col + i]! + rs * (Z[i]! * zj - st[col + i]!);
  }
  st[off + J_N] = n + 1;
  return score;
}

/**
 * A fresh state for k metrics, in its own array. A device that shows a new metric gets one: the
 * model starts afresh (and warms up again), since the new metric has no baseline, scale or
 * correlation yet and judging the others against a half-learnt relation would alarm. Devices show
 * their metrics in their first readings.
 */
export function newJoint(k: number): Float64Array {
  const st = new Float64Array(jointSlots(k));
  initJoint(st, 0, k);
  return st;
}
