/**
 * Range novelty (the "spatial anomaly" of NAB's HTM detector): a reading beyond every value seen so
 * far, by more than a tolerance proportional to the range seen so far, is anomalous whatever its
 * shape. It catches the most common kind of incident in monitoring data (a value never seen before,
 * slow drifts that end in a new extreme, first spikes) before the nearest-neighbour discord has a
 * full subsequence to compare. The range shrinks very slowly (`contractRange`) so that a one-off
 * extreme does not blind it forever. Two scalars of state; pure functions.
 *
 * The drift gate (`driftGate`, issue 19: "drift is not an anomaly") decides how much a new extreme
 * counts: nothing when a slow drift leads there, little when it is a settled series' noise tail,
 * fully when it is far from a drift-following level (a step, a spike). It also reports level shifts
 * too small for any single reading to leave the range. `DRIFT_SLOTS` more scalars.
 */
import type { DetectorParams } from "./params.js";

/** The range of raw values seen so far (empty: min = +Infinity, max = -Infinity). */
export interface ValueRange {
  min: number;
  max: number;
}

/** An empty range. */
export function emptyRange(): ValueRange {
  return { min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY };
}

/**
 * Whether `value` lies outside `range` widened on each side by `tolerance` × its width. False while
 * the range is empty or a single value (there is no scale to compare with yet).
 */
export function isOutsideRange(range: ValueRange, value: number, tolerance: number): boolean {
  return isOutsideBounds(range.min, range.max, value, tolerance);
}

/** `isOutsideRange` of the range [min, max] given as two numbers (the detector keeps them in slots). */
export function isOutsideBounds(min: number, max: number, value: number, tolerance: number): boolean {
  const width = max - min;
  if (!(width > 0)) return false;
  const margin = width * tolerance;
  return value > max + margin || value < min - margin;
}

/** Widens `range` to include `value` (in place). */
export function extendRange(range: ValueRange, value: number): void {
  if (value > range.max) range.max = value;
  if (value < range.min) range.min = value;
}

/** Shrinks `range` toward its middle by `rate` × its width (in place); forgets old extremes slowly. */
export function contractRange(range: ValueRange, rate: number): void {
  const width = range.max - range.min;
  if (!(width > 0) || rate <= 0) return;
  const cut = width * rate * 0.5;
  range.max -= cut;
  range.min += cut;
}

/**
 * Scalar slots of the drift gate, from `at`: readings seen by it, fast and slow drift-following
 * levels, short mean, mean absolute deviation of readings and of the short mean from the fast level,
 * range of the short mean (min, max), consecutive readings of a level shift so far.
 * All 0 initially (a gate that has seen nothing, e.g. restored from a state saved before it
 * existed, starts afresh).
 */
export const DRIFT_SLOTS = 9;

/** Settings of the drift gate: the DetectorParams fields of the same names (params.ts documents them). */
export type DriftGateParams = Pick<
  DetectorParams,
  "driftRate" | "driftSlowRate" | "driftSmoothing" | "driftScaleRate" | "driftBar" | "driftTrendBar" | "driftHold" | "levelBar" | "levelPersist" | "rangeTolerance" | "rangeDecay"
>;

/** `driftGate` adds this when the short mean left its own seen range by more than `levelBar` deviations: a level shift. */
export const LEVEL_SHIFT = 4;

/** `driftGate`: the reading is explained by slow drift, or the range is still young: not range-novel. */
export const GATE_SHUT = 0;
/** `driftGate`: not unusual against the drift-following level, but the data does not drift: a weak range novelty. */
export const GATE_WEAK = 1;
/** `driftGate`: unusual against the drift-following level (a step, a spike): a full range novelty. */
export const GATE_OPEN = 2;

/**
 * The drift gate of range novelty ("drift is not an anomaly", issue 19): how much a reading `x`
 * beyond the seen range counts (the gate itself does not look at that range). `GATE_OPEN` when it — or its short mean (rate `driftSmoothing`,
 * which averages noise so a modest step stands out) — lies more than `driftBar` mean absolute
 * deviations from the fast drift-following level before `x` (a step, a spike). Otherwise
 * `GATE_SHUT` when the data drifts (fast and slow levels more than `driftTrendBar` deviations apart:
 * the new extreme is where the drift leads) or the range is young (fewer than `driftHold` readings,
 * when new extremes are mostly noise), else `GATE_WEAK` (a new extreme of settled data that is not
 * far from its level: a tail or a bounded series' new value). So a slow drift to new extremes is
 * followed, not alarmed on, while a step still is.
 *
 * Plus `LEVEL_SHIFT` (added to the verdict, once per shift) when the short mean has stayed
 * `levelPersist` readings more than `levelBar` deviations from the fast level, having left its own
 * seen range (widened by `rangeTolerance`, forgotten at `rangeDecay`) when the run began, each
 * reading on the shifted side: a step too small for one reading to leave the raw range, which a
 * burst or a spike's decaying tail does not mimic. Updates the `DRIFT_SLOTS` slots at `f64[at..]`
 * with `x`; causal (tests against the state before `x`). Rates start at 1/k (k readings seen), so
 * the levels and deviations are plain means at first.
 */
export function driftGate(f64: Float64Array, at: number, x: number, p: DriftGateParams): number {
  // UNBOX (kernel.ts): mixed with the parameter in `k === 1 ? x : …`, TurboFan (Node 20) kept
  // those values boxed and allocated ~7 heap numbers per call.
  x = +x;
  const k = f64[at]! + 1;
  const level = f64[at + 1]!;
  const slow = f64[at + 2]!;
  const short = k === 1 ? x : f64[at + 3]! + (x - f64[at + 3]!) * p.driftSmoothing;
  const sx = f64[at + 4]!;
  const sm = f64[at + 5]!;
  const rx = k === 1 ? 0 : Math.abs(x - level);
  const rm = k === 1 ? 0 : Math.abs(short - level);
  const gate = rx > p.driftBar * sx || rm > p.driftBar * sm ? GATE_OPEN : k > p.driftHold && !(Math.abs(level - slow) > p.driftTrendBar * sx) ? GATE_WEAK : GATE_SHUT;
  let mmin = f64[at + 6]!;
  let mmax = f64[at + 7]!;
  if (k === 1) {
    mmin = short;
    mmax = short;
  }
  // The reading itself must be on the shifted side too (not the decaying tail of a spike).
  const bar = p.levelBar * sm;
  const up = short - level > bar && x > level;
  const down = level - short > bar && x < level;
  const run = k > p.driftHold && p.levelBar > 0 && (up || down) && (f64[at + 8]! > 0 || isOutsideBounds(mmin, mmax, short, p.rangeTolerance)) ? f64[at + 8]! + 1 : 0;
  f64[at + 8] = run;
  const shift = run === p.levelPersist ? LEVEL_SHIFT : 0;
  if (short > mmax) mmax = short;
  if (short < mmin) mmin = short;
  const width = mmax - mmin;
  if (width > 0 && p.rangeDecay > 0) {
    mmax -= width * p.rangeDecay * 0.5;
    mmin += width * p.rangeDecay * 0.5;
  }
  f64[at + 6] = mmin;
  f64[at + 7] = mmax;
  const a = 1 / k > p.driftRate ? 1 / k : p.driftRate;
  const as = 1 / k > p.driftSlowRate ? 1 / k : p.driftSlowRate;
  const b = 1 / k > p.driftScaleRate ? 1 / k : p.driftScaleRate;
  f64[at] = k;
  f64[at + 1] = k === 1 ? x : level + (x - level) * a;
  f64[at + 2] = k === 1 ? x : slow + (x - slow) * as;
  f64[at + 3] = short;
  f64[at + 4] = sx + (rx - sx) * b;
  f64[at + 5] = sm + (rm - sm) * b;
  return gate + shift;
}

/**
 * Range novelty of the `n`-th raw reading `value` on a detector's slots (kernel.ts): the seen range
 * at `f64[rangeAt]` (min) and `f64[rangeAt + 1]` (max), the drift gate's `DRIFT_SLOTS` at `gateAt`,
 * the point count of the last weak range novelty at `weakAt` (0: none). Returns the score it gives
 * the reading: 0 for none; `rangeScore` for a full range novelty — far from the drift-following
 * level (`GATE_OPEN`), beyond the range by more than `rangeClearTolerance` of its width, or a weak
 * one within `rangeRepeat` points of the previous weak one (a burst of new extremes, not a lone noise
 * tail); `rangeWeakScore` for a weak one (`GATE_WEAK`); 0 when the gate is shut (drift, young range).
 * A level shift (`LEVEL_SHIFT`) scores `rangeScore` and is returned negated, so the caller can tell
 * which term it was. Before `warmup` points nothing scores, but the range and the gate still learn.
 * Then extends the range with `value` and contracts it by `rangeDecay`.
 */
export function rangeNovelty(p: DetectorParams, f64: Float64Array, rangeAt: number, gateAt: number, weakAt: number, n: number, value: number): number {
  let rmin = f64[rangeAt]!;
  let rmax = f64[rangeAt + 1]!;
  // The drift gate sees every reading (its levels must follow the data).
  const g = p.driftRate === 0 ? GATE_OPEN : driftGate(f64, gateAt, value, p);
  const gate = g & 3;
  let score = 0;
  if (n >= p.warmup && isOutsideBounds(rmin, rmax, value, p.rangeTolerance)) {
    score = gate === GATE_OPEN || isOutsideBounds(rmin, rmax, value, p.rangeClearTolerance) ? p.rangeScore : gate === GATE_SHUT ? 0 : p.rangeWeakScore;
    if (gate === GATE_WEAK && score < p.rangeScore) {
      const last = f64[weakAt]!;
      if (last > 0 && n - last <= p.rangeRepeat) score = p.rangeScore;
      f64[weakAt] = n;
    }
  }
  if (n >= p.warmup && (g & LEVEL_SHIFT) !== 0 && p.rangeScore > score) score = -p.rangeScore;
  if (value > rmax) rmax = value;
  if (value < rmin) rmin = value;
  const width = rmax - rmin; // contractRange on the slots
  if (width > 0 && p.rangeDecay > 0) {
    const cut = width * p.rangeDecay * 0.5;
    rmax -= cut;
    rmin += cut;
  }
  f64[rangeAt] = rmin;
  f64[rangeAt + 1] = rmax;
  return score;
}
