/**
 * Streaming, causal anomaly detector for one metric: pure, deterministic, bounded state.
 *
 * Pipeline per point (docs/adr/0003-anomaly-detector.md):
 * 1. Downsample: every `downsample` raw points become one step, the block mean pulled toward the
 *    block's extreme by `spikeWeight` (keeps short spikes visible).
 * 2. Nearest-neighbour discord: the last `windowLength` steps are compared (Euclidean) with every
 *    earlier subsequence in a ring of `historyLength` steps; the distance to the nearest one,
 *    divided by the running mean absolute deviation of the data, measures how new the pattern is.
 * 3. Conformal + likelihood layer: the log ratio of that distance to the largest of the last
 *    `distanceMemory` distances, plus the z-score of the log distance against its long-run
 *    distribution, go through a logistic to give a score in [0, 1].
 * 4. Seasonal discord: the same distance restricted to subsequences a whole number of
 *    `seasonPeriodMs` earlier (seasonal-discord.ts); its z-score logit is fused by max with step 3's.
 * 5. Range novelty: a raw reading beyond the range of all earlier readings by more than
 *    `rangeTolerance` of that range scores at least `rangeScore`; the range forgets slowly
 *    (`rangeDecay`) (range-novelty.ts).
 * 6. Alarm rest: once the score reaches `alarmScore`, scores are damped for `restPoints` points.
 * Scores between downsampling boundaries are 0. A score for point t uses only points ≤ t.
 */
import { resolveDetectorParams } from "./params.js";
import type { DetectorParams } from "./params.js";
import { decodeState, encodeState, stateLayout } from "./state.js";
import type { DecodedState } from "./state.js";
import { contractRange, emptyRange, extendRange, isOutsideRange } from "./range-novelty.js";
import { nextStepDuration, seasonalNearest } from "./seasonal-discord.js";

/** A detector for one metric. Not thread-safe; one per metric per actor. */
export interface Detector {
  /** The resolved parameters. */
  readonly params: DetectorParams;
  /**
   * Feeds one reading and returns its anomaly score in [0, 1]. `tsMs` is the reading time in ms
   * since epoch; only the seasonal discord uses it (to convert its period into steps), so
   * timestamps that do not increase merely turn that term off. Non-finite values are ignored and
   * score 0.
   */
  update(value: number, tsMs: number): number;
  /** Serialises the full state (parameters included) into a compact byte array. */
  saveState(): Uint8Array;
  /** Size in bytes of the state `saveState` returns (the detector's memory per metric, payload). */
  stateBytes(): number;
  /** Raw points consumed so far. */
  readonly count: number;
}

/** Creates a detector with the given parameters (defaults for the rest). Throws RangeError on bad params. */
export function createDetector(params: Partial<DetectorParams> = {}): Detector {
  return build(resolveDetectorParams(params), undefined);
}

/**
 * Rebuilds a detector from `saveState()` bytes (this version's or version 1's). Throws
 * DetectorStateError when they are not a valid state.
 */
export function restoreDetector(bytes: Uint8Array): Detector {
  const state = decodeState(bytes);
  return build(state.params, state);
}

/** Largest of the first `m` entries (0 when m = 0). */
function maxOf(a: Float32Array, m: number): number {
  let mx = 0;
  for (let i = 0; i < m; i++) if (a[i]! > mx) mx = a[i]!;
  return mx;
}

function build(p: DetectorParams, from: DecodedState | undefined): Detector {
  const { total } = stateLayout(p);
  const H = p.historyLength;
  const L = p.windowLength;
  const N = p.distanceMemory;
  const hist = new Float32Array(H);
  const dists = new Float32Array(N);
  const q = new Float64Array(L); // scratch: the current subsequence (not state)
  // Scalars live in locals for speed and are written to the header only by saveState.
  let n = 0; // raw points seen
  let acc = 0; // block sum
  let cnt = 0; // block count
  let bmax = -Infinity;
  let bmin = Infinity;
  let ma = 0; // fast moving average of block means
  let steps = 0; // downsampled steps seen
  let center = 0; // running mean of steps
  let scale = 0; // running mean absolute deviation of steps
  let dn = 0; // distances seen
  let lm = 0; // long-run mean of log distance
  let lv = 0; // long-run variance of log distance
  let lk = 0; // log distances seen
  let quiet = 0; // rest points left
  let match = -2; // absolute step where the last nearest neighbour started
  const range = emptyRange(); // raw values seen so far (range novelty)
  let ringMax = 0; // largest of the distances in the ring (derived, not saved)
  let lastTs = Number.NaN; // time of the previous step (ms)
  let stepMs = 0; // running step duration (ms), 0 = unknown
  let sm = 0; // long-run mean of the log seasonal distance
  let sv = 0; // its variance
  let sk = 0; // seasonal distances seen
  if (from !== undefined) {
    [n, acc, cnt, bmax, bmin, ma, steps, center, scale, dn, lm, lv, lk, quiet, match, range.min, range.max, lastTs, stepMs, sm, sv, sk] = Array.from(
      from.scalars.subarray(0, 22),
    );
    hist.set(from.hist);
    dists.set(from.dists);
    ringMax = maxOf(dists, dn < N ? dn : N);
  }
  const eps = p.distanceFloor;

  /** Folds one downsampled step in; returns the logit of its score, or NaN while still learning. */
  function step(v: number, tsMs: number): number {
    stepMs = nextStepDuration(stepMs, tsMs - lastTs);
    lastTs = tsMs;
    const a = Math.max(1 / steps, p.scaleRate);
    center += (v - center) * a;
    scale += (Math.abs(v - center) - scale) * a;
    hist[(steps - 1) % H] = v;
    if (steps < L + p.minHistory) return NaN;
    const avail = steps < H ? steps : H;
    const cur0 = steps - L; // first index (absolute step) of the current window
    for (let j = 0; j < L; j++) q[j] = hist[(cur0 + j) % H]!;
    const last = avail - L + 1 - p.exclusionZone; // candidate windows
    const first = steps - avail;
    // Seed with the successor of the previous nearest neighbour (usually close again), so early
    // abandoning prunes most candidates. The result is the exact nearest-neighbour distance.
    let best = Infinity;
    let bestAt = -1;
    const seed = match + 1;
    if (seed >= first && seed < first + last) {
      let d = 0;
      for (let j = 0; j < L; j++) {
        const e = hist[(seed + j) % H]! - q[j]!;
        d += e * e;
      }
      best = d;
      bestAt = seed;
    }
    for (let st = first; st < first + last; st++) {
      let d = 0;
      const b = st % H;
      if (b + L <= H) {
        for (let j = 0; j < L; j++) {
          const e = hist[b + j]! - q[j]!;
          d += e * e;
          if (d >= best) break;
        }
      } else {
        for (let j = 0; j < L; j++) {
          const e = hist[(b + j) % H]! - q[j]!;
          d += e * e;
          if (d >= best) break;
        }
      }
      if (d < best) {
        best = d;
        bestAt = st;
      }
    }
    match = bestAt;
    if (best === Infinity) return NaN;
    const dist = Math.sqrt(best / L) / (scale + 1e-9 * (Math.abs(center) + 1));
    const m = dn < N ? dn : N;
    const mx = ringMax;
    const slot = dn % N;
    const evicted = dn < N ? 0 : dists[slot]!;
    dists[slot] = dist;
    dn++;
    // Keep the ring's maximum incrementally; rescan only when the maximum itself is evicted.
    if (dists[slot]! >= ringMax) ringMax = dists[slot]!;
    else if (evicted === ringMax) ringMax = maxOf(dists, dn < N ? dn : N);
    if (m < 9) return NaN;
    const r = dist / (mx + 1e-9);
    const f = Math.log(dist + eps);
    const z = lk < 10 ? 0 : (f - lm) / Math.sqrt(lv + 1e-12);
    lk++;
    const al = Math.max(1 / lk, p.likelihoodRate);
    const dd = f - lm;
    lm += al * dd;
    lv = (1 - al) * (lv + al * dd * dd);
    const discord = p.ratioWeight * Math.log(r + 1e-9) + p.likelihoodWeight * z;
    return Math.max(discord, seasonal(cur0, first, first + last, avail));
  }

  /** Logit of the seasonal discord (seasonal-discord.ts), or -Infinity when it does not apply. */
  function seasonal(cur0: number, first: number, end: number, avail: number): number {
    if (p.seasonWeight === 0 || p.seasonPeriodMs === 0 || !(stepMs > 0)) return Number.NEGATIVE_INFINITY;
    const period = Math.round(p.seasonPeriodMs / stepMs);
    // Needs one full period of history beyond the current subsequence and its exclusion zone.
    if (period < 2 * L || period + L + p.seasonTolerance > avail - p.exclusionZone) return Number.NEGATIVE_INFINITY;
    const best = seasonalNearest(hist, q, cur0, first, end, period, p.seasonTolerance);
    if (best === Infinity) return Number.NEGATIVE_INFINITY;
    const f = Math.log(Math.sqrt(best / L) / (scale + 1e-9 * (Math.abs(center) + 1)) + eps);
    const z = sk < 10 ? 0 : (f - sm) / Math.sqrt(sv + 1e-12);
    sk++;
    const a = Math.max(1 / sk, p.likelihoodRate);
    const dd = f - sm;
    sm += a * dd;
    sv = (1 - a) * (sv + a * dd * dd);
    return p.seasonWeight * (z - p.seasonOffset);
  }

  function update(value: number, tsMs: number): number {
    if (!Number.isFinite(value)) return 0;
    n++;
    acc += value;
    cnt++;
    if (value > bmax) bmax = value;
    if (value < bmin) bmin = value;
    let out = 0;
    if (cnt >= p.downsample) {
      const mean = acc / cnt;
      ma = steps === 0 ? mean : (ma + mean) / 2;
      const extreme = Math.abs(bmax - ma) >= Math.abs(bmin - ma) ? bmax : bmin;
      const v = mean + (extreme - mean) * p.spikeWeight;
      acc = 0;
      cnt = 0;
      bmax = -Infinity;
      bmin = Infinity;
      steps++;
      const c = step(v, tsMs);
      if (!Number.isNaN(c) && n >= p.warmup) out = 1 / (1 + Math.exp(-c));
    }
    if (p.rangeScore > 0) {
      if (n >= p.warmup && out < p.rangeScore && isOutsideRange(range, value, p.rangeTolerance)) out = p.rangeScore;
      extendRange(range, value);
      contractRange(range, p.rangeDecay);
    }
    if (quiet > 0) {
      quiet--;
      out *= p.restDamping;
    } else if (out >= p.alarmScore) quiet = p.restPoints;
    return out;
  }

  function saveState(): Uint8Array {
    // Scalar order is the state format (state.ts reads slot 6 = steps, 15/16 = range).
    const scalars = [n, acc, cnt, bmax, bmin, ma, steps, center, scale, dn, lm, lv, lk, quiet, match, range.min, range.max, lastTs, stepMs, sm, sv, sk];
    return encodeState(p, scalars, hist, dists);
  }

  return {
    params: p,
    update,
    saveState,
    stateBytes: () => total,
    get count() {
      return n;
    },
  };
}
