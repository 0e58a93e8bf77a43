/**
 * The detector's arithmetic over caller-owned memory: the scalar state lives in `SCALAR_SLOTS`
 * slots of a Float64Array, the history and distance rings in a Float32Array, so a device actor can
 * pack every metric of every detector into one buffer (docs/adr/0008-device-actor-memory.md) and
 * share the parameters and scratch (`DetectorModel`) between all of them. `createDetector`
 * (detector.ts) is a thin owner of such memory. Pure, deterministic, no allocation per point.
 *
 * The rings may be smaller than `historyLength` / `distanceMemory` while they are filling: until a
 * ring wraps, position k holds the k-th value, so a ring of capacity c serves the first c values.
 * `ringNeeds` says what capacity the next point needs; callers that grow rings lazily check it
 * before `detectorUpdate` (callers with full rings never need to).
 */
import type { DetectorParams } from "./params.js";
import { DRIFT_SLOTS, rangeNovelty } from "./range-novelty.js";
import { nextStepDuration, seasonalNearest } from "./seasonal-discord.js";

// Scalar slots, in the order of the state format's scalars (state.ts: slot 6 = steps, 15/16 = range).
/** Raw points seen. */
export const S_N = 0;
const S_ACC = 1; // block sum
const S_CNT = 2; // block count
const S_BMAX = 3;
const S_BMIN = 4;
const S_MA = 5; // fast moving average of block means
/** Downsampled steps seen. */
export const S_STEPS = 6;
const S_CENTER = 7; // running mean of steps
const S_SCALE = 8; // running mean absolute deviation of steps
/** Distances seen. */
export const S_DN = 9;
// The two likelihood models (likelihoodZ): mean, variance, count in consecutive slots.
const S_LM = 10; // long-run mean of log distance; 11: its variance; 12: log distances seen
const S_QUIET = 13; // rest points left
/** Absolute step where the last nearest neighbour's subsequence started (-1: none yet). */
export const S_MATCH = 14;
const S_RMIN = 15; // range of raw values seen (range novelty)
const S_RMAX = 16;
const S_LAST_TS = 17; // time of the previous step (ms)
const S_STEP_MS = 18; // running step duration (ms), 0 = unknown
const S_SM = 19; // long-run mean of the log seasonal distance; 20: its variance; 21: seen
// Added in state version 3, all 0 initially: the drift gate of range novelty (range-novelty.ts,
// DRIFT_SLOTS slots from 22), then two slots of range novelty's alarm logic.
const S_DRIFT = 22;
const S_WEAK_AT = S_DRIFT + DRIFT_SLOTS; // 31: raw point count at the last weak range novelty (0: none yet)
const S_REST_FULL = S_WEAK_AT + 1; // 32: 1 while the current rest began with a full range or level score
/** Scalars that are state (saved); the slots after them are derived or diagnostic. */
export const SAVED_SCALARS = 33;
/**
 * Saved scalars of states written before the drift gate (detector state version 2, device
 * snapshots up to version 6): slots 0..21. The slots from there to `SAVED_SCALARS` start at 0
 * (what `initScalars` writes), so such a state restores by copying its 22 scalars and zeroing the rest.
 */
export const SAVED_SCALARS_V2 = 22;
/** Largest distance in the ring (derived from the ring, kept for speed, not saved). */
const S_RING_MAX = 33;
/**
 * Which term produced the last reading's score (`TERM_*`; not saved: diagnostic, "why it fired").
 * Set on every reading: the term whose logit or score was taken before rest damping; `TERM_NONE`
 * when the score is 0 (between downsampling boundaries, while learning, non-finite input).
 */
export const S_TERM = 34;
/** Float64 slots of one detector's scalars. */
export const SCALAR_SLOTS = 35;

/** `S_TERM`: no term scored the reading (its score is 0). */
export const TERM_NONE = 0;
/** `S_TERM`: the nearest-neighbour discord (a new shape). */
export const TERM_DISCORD = 1;
/** `S_TERM`: the seasonal discord (a usual shape at an unusual time of day). */
export const TERM_SEASON = 2;
/** `S_TERM`: range novelty (a value beyond every one seen, not explained by slow drift). */
export const TERM_RANGE = 3;
/** `S_TERM`: level shift (the short mean left its own range, far from the drift-following level: a step). */
export const TERM_LEVEL = 4;

/** What every detector with the same parameters shares: the parameters and a scratch subsequence. */
export interface DetectorModel {
  readonly params: DetectorParams;
  /** Scratch: the current subsequence (not state; valid only during one update). */
  readonly q: Float64Array;
}

/** The shared part for `params` (already resolved). */
export function detectorModel(params: DetectorParams): DetectorModel {
  return { params, q: new Float64Array(params.windowLength) };
}

/** Writes the scalars of a fresh detector at `so`. */
export function initScalars(f64: Float64Array, so: number): void {
  f64.fill(0, so, so + SCALAR_SLOTS);
  f64[so + S_BMAX] = Number.NEGATIVE_INFINITY;
  f64[so + S_BMIN] = Number.POSITIVE_INFINITY;
  f64[so + S_MATCH] = -2;
  f64[so + S_RMIN] = Number.POSITIVE_INFINITY;
  f64[so + S_RMAX] = Number.NEGATIVE_INFINITY;
  f64[so + S_LAST_TS] = Number.NaN;
}

/** Sets the derived slot from the distance ring (after restoring scalars and rings). */
export function deriveScalars(p: DetectorParams, f64: Float64Array, so: number, f32: Float32Array, dof: number): void {
  const dn = f64[so + S_DN]!;
  f64[so + S_RING_MAX] = maxOf(f32, dof, dn < p.distanceMemory ? dn : p.distanceMemory);
}

/** Values the history ring and the distance ring hold now (≤ their lengths). */
export function ringFill(p: DetectorParams, f64: Float64Array, so: number): { readonly hist: number; readonly dists: number } {
  const steps = f64[so + S_STEPS]!;
  const dn = f64[so + S_DN]!;
  return { hist: Math.min(steps, p.historyLength), dists: Math.min(dn, p.distanceMemory) };
}

/**
 * Ring capacities the next `detectorUpdate` needs, as `hist * 1024 + dists` (no allocation): 0 when
 * the next point does not complete a downsampled step (nothing is written to the rings then).
 */
export function ringNeeds(p: DetectorParams, f64: Float64Array, so: number): number {
  if (f64[so + S_CNT]! + 1 < p.downsample) return 0;
  const steps = f64[so + S_STEPS]! + 1;
  const dn = f64[so + S_DN]!;
  const h = steps < p.historyLength ? steps : p.historyLength;
  const d = steps < p.windowLength + p.minHistory ? 0 : dn + 1 < p.distanceMemory ? dn + 1 : p.distanceMemory;
  return h * 1024 + d;
}

/** Largest of the `m` entries of `a` from `off` (0 when m = 0). */
function maxOf(a: Float32Array, off: number, m: number): number {
  let mx = 0;
  for (let i = 0; i < m; i++) if (a[off + i]! > mx) mx = a[off + i]!;
  return mx;
}

/**
 * Feeds one reading to the detector whose scalars start at `so` in `f64`, whose history ring starts
 * at `ho` and distance ring at `dof` in `f32`; returns its score in [0, 1] (docs/adr/0003).
 * Non-finite values are ignored and score 0. Positional arguments: this runs once per reading.
 */
export function detectorUpdate(m: DetectorModel, f64: Float64Array, so: number, f32: Float32Array, ho: number, dof: number, value: number, tsMs: number): number {
  if (!Number.isFinite(value)) {
    f64[so + S_TERM] = TERM_NONE;
    return 0;
  }
  // UNBOX: the parameters as doubles (`+value` is value, bit for bit). Mixed with doubles in a
  // conditional (`if (value > bmax) bmax = value`), TurboFan (Node 20) kept such values boxed and
  // allocated a heap number per merge and call: ~190 bytes per point across the detector.
  value = +value;
  tsMs = +tsMs;
  const p = m.params;
  let term = TERM_NONE;
  const n = f64[so + S_N]! + 1;
  f64[so + S_N] = n;
  const acc = f64[so + S_ACC]! + value;
  const cnt = f64[so + S_CNT]! + 1;
  let bmax = f64[so + S_BMAX]!;
  let bmin = f64[so + S_BMIN]!;
  if (value > bmax) bmax = value;
  if (value < bmin) bmin = value;
  let out = 0;
  if (cnt >= p.downsample) {
    const mean = acc / cnt;
    const steps0 = f64[so + S_STEPS]!;
    const ma = steps0 === 0 ? mean : (f64[so + S_MA]! + mean) / 2;
    f64[so + S_MA] = ma;
    const extreme = Math.abs(bmax - ma) >= Math.abs(bmin - ma) ? bmax : bmin;
    const v = mean + (extreme - mean) * p.spikeWeight;
    f64[so + S_ACC] = 0;
    f64[so + S_CNT] = 0;
    f64[so + S_BMAX] = Number.NEGATIVE_INFINITY;
    f64[so + S_BMIN] = Number.POSITIVE_INFINITY;
    f64[so + S_STEPS] = steps0 + 1;
    const c = step(m, f64, so, f32, ho, dof, v, tsMs);
    if (!Number.isNaN(c) && n >= p.warmup) {
      out = 1 / (1 + Math.exp(-c));
      term = f64[so + S_TERM]!; // step() wrote which of discord / season gave c
    }
  } else {
    f64[so + S_ACC] = acc;
    f64[so + S_CNT] = cnt;
    f64[so + S_BMAX] = bmax;
    f64[so + S_BMIN] = bmin;
  }
  if (p.rangeScore > 0) {
    const r = rangeNovelty(p, f64, so + S_RMIN, so + S_DRIFT, so + S_WEAK_AT, n, value);
    const rs = r < 0 ? -r : r;
    if (out < rs) {
      out = rs;
      term = r < 0 ? TERM_LEVEL : TERM_RANGE;
    }
  }
  f64[so + S_TERM] = out > 0 ? term : TERM_NONE;
  const quiet = f64[so + S_QUIET]!;
  const full = out >= p.rangeScore && (term === TERM_RANGE || term === TERM_LEVEL);
  if (quiet > 0) {
    if (full && f64[so + S_REST_FULL] === 0) {
      // The rest began with a lesser alarm (a discord, a weak range novelty): the first full range
      // or level score of the incident keeps its score (the device alarms on it) and restarts the rest.
      f64[so + S_QUIET] = p.restPoints;
      f64[so + S_REST_FULL] = 1;
    } else {
      f64[so + S_QUIET] = quiet - 1;
      out *= p.restDamping;
    }
  } else if (out >= p.alarmScore) {
    f64[so + S_QUIET] = p.restPoints;
    f64[so + S_REST_FULL] = full ? 1 : 0;
  }
  return out;
}

/** Folds one downsampled step in (S_STEPS already counts it); returns its logit, or NaN while still learning. */
function step(m: DetectorModel, f64: Float64Array, so: number, f32: Float32Array, ho: number, dof: number, v: number, tsMs: number): number {
  const p = m.params;
  const q = m.q;
  const H = p.historyLength;
  const L = p.windowLength;
  const N = p.distanceMemory;
  const steps = f64[so + S_STEPS]!;
  const stepMs = nextStepDuration(f64[so + S_STEP_MS]!, tsMs - f64[so + S_LAST_TS]!);
  f64[so + S_STEP_MS] = stepMs;
  f64[so + S_LAST_TS] = tsMs;
  const a = Math.max(1 / steps, p.scaleRate);
  let center = f64[so + S_CENTER]!;
  let scale = f64[so + S_SCALE]!;
  center += (v - center) * a;
  scale += (Math.abs(v - center) - scale) * a;
  f64[so + S_CENTER] = center;
  f64[so + S_SCALE] = scale;
  // Counts in the f64 slots are doubles (they may exceed 2^31); ring positions are reduced to int32
  // once per step so the search loops run on small integers (a double modulo per element costs
  // half the throughput).
  f32[ho + (((steps - 1) % H) | 0)] = v;
  if (steps < L + p.minHistory) return NaN;
  const avail = steps < H ? steps : H;
  const cur0 = steps - L; // first index (absolute step) of the current window
  const cb = (cur0 % H) | 0;
  for (let j = 0, i = cb; j < L; j++, i = i + 1 === H ? 0 : i + 1) q[j] = f32[ho + i]!;
  const last = avail - L + 1 - p.exclusionZone; // candidate windows
  const first = steps - avail;
  const fb = (first % H) | 0;
  // Seed with the successor of the previous nearest neighbour (usually close again), so early
  // abandoning prunes most candidates. The result is the exact nearest-neighbour distance.
  let best = Infinity;
  let bestAt = -1;
  const seed = f64[so + S_MATCH]! + 1;
  if (seed >= first && seed < first + last) {
    let d = 0;
    for (let j = 0, i = (seed % H) | 0; j < L; j++, i = i + 1 === H ? 0 : i + 1) {
      const e = f32[ho + i]! - q[j]!;
      d += e * e;
    }
    best = d;
    bestAt = seed;
  }
  // Candidates in ring order: runs whose window does not wrap, at plain offsets, and the few that
  // wrap. In a run (windowLength ≥ 4) the first four terms are summed before the first test: early
  // abandoning stops most candidates within two terms, and a test per term costs more in
  // mispredicted branches than the terms do. The sums are the same, in the same order, as one loop.
  const unrolled = L >= 4;
  const q0 = q[0]!;
  const q1 = q[1]!;
  const q2 = unrolled ? q[2]! : 0;
  const q3 = unrolled ? q[3]! : 0;
  for (let k = 0, b = fb; k < last; ) {
    if (unrolled && b + L <= H) {
      const n = Math.min(last - k, H - L + 1 - b);
      for (let t = 0, o = ho + b; t < n; t++, o++) {
        let e = f32[o]! - q0;
        let d = e * e;
        e = f32[o + 1]! - q1;
        d += e * e;
        e = f32[o + 2]! - q2;
        d += e * e;
        e = f32[o + 3]! - q3;
        d += e * e;
        for (let j = 4; j < L && d < best; j++) {
          e = f32[o + j]! - q[j]!;
          d += e * e;
        }
        if (d < best) {
          best = d;
          bestAt = first + k + t;
        }
      }
      k += n;
      b += n;
    } else {
      let d = 0;
      for (let j = 0, i = b; j < L; j++, i = i + 1 === H ? 0 : i + 1) {
        const e = f32[ho + i]! - q[j]!;
        d += e * e;
        if (d >= best) break;
      }
      if (d < best) {
        best = d;
        bestAt = first + k;
      }
      k++;
      b = b + 1 === H ? 0 : b + 1;
    }
  }
  f64[so + S_MATCH] = bestAt;
  if (best === Infinity) return NaN;
  const dist = Math.sqrt(best / L) / (scale + 1e-9 * (Math.abs(center) + 1));
  let dn = f64[so + S_DN]!;
  const cnt = dn < N ? dn : N;
  const mx = f64[so + S_RING_MAX]!;
  const slot = dof + (dn % N);
  const evicted = dn < N ? 0 : f32[slot]!;
  f32[slot] = dist;
  dn++;
  f64[so + S_DN] = dn;
  // Keep the ring's maximum incrementally; rescan only when the maximum itself is evicted.
  if (f32[slot]! >= mx) f64[so + S_RING_MAX] = f32[slot]!;
  else if (evicted === mx) f64[so + S_RING_MAX] = maxOf(f32, dof, dn < N ? dn : N);
  if (cnt < 9) return NaN;
  const eps = p.distanceFloor;
  const r = dist / (mx + 1e-9);
  const f = Math.log(dist + eps);
  const z = likelihoodZ(f64, so + S_LM, f, p.likelihoodRate);
  const discord = p.ratioWeight * Math.log(r + 1e-9) + p.likelihoodWeight * z;
  const season = seasonal(m, f64, so, f32, ho, stepMs, center, scale, cur0, first, first + last, avail);
  f64[so + S_TERM] = season > discord ? TERM_SEASON : TERM_DISCORD;
  return season > discord ? season : discord;
}

/** Logit of the seasonal discord (seasonal-discord.ts), or -Infinity when it does not apply. */
function seasonal(m: DetectorModel, f64: Float64Array, so: number, f32: Float32Array, ho: number, stepMs: number, center: number, scale: number, cur0: number, first: number, end: number, avail: number): number {
  const p = m.params;
  const L = p.windowLength;
  if (p.seasonWeight === 0 || p.seasonPeriodMs === 0 || !(stepMs > 0)) return Number.NEGATIVE_INFINITY;
  const period = Math.round(p.seasonPeriodMs / stepMs);
  // Needs one full period of history beyond the current subsequence and its exclusion zone.
  if (period < 2 * L || period + L + p.seasonTolerance > avail - p.exclusionZone) return Number.NEGATIVE_INFINITY;
  const best = seasonalNearest(f32, m.q, cur0, first, end, period, p.seasonTolerance, ho, p.historyLength);
  if (best === Infinity) return Number.NEGATIVE_INFINITY;
  const f = Math.log(Math.sqrt(best / L) / (scale + 1e-9 * (Math.abs(center) + 1)) + p.distanceFloor);
  const z = likelihoodZ(f64, so + S_SM, f, p.likelihoodRate);
  return p.seasonWeight * (z - p.seasonOffset);
}

/**
 * z-score of the log distance `f` against a running model of them held at `f64[at..at+2]` (mean,
 * variance, count; 0 until 10 were seen), then the model updated with `f` (rate ≥ `rate`).
 */
function likelihoodZ(f64: Float64Array, at: number, f: number, rate: number): number {
  let m = f64[at]!;
  let v = f64[at + 1]!;
  let k = f64[at + 2]!;
  const z = k < 10 ? 0 : (f - m) / Math.sqrt(v + 1e-12);
  k++;
  const a = Math.max(1 / k, rate);
  const dd = f - m;
  m += a * dd;
  v = (1 - a) * (v + a * dd * dd);
  f64[at] = m;
  f64[at + 1] = v;
  f64[at + 2] = k;
  return z;
}
