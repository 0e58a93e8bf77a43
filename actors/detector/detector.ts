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
 * 4. Alarm rest: once the score reaches `alarmScore`, scores are damped for `restPoints` points.
 * Scores between downsampling boundaries are 0. A score for point t uses only points ≤ t.
 */
import { resolveDetectorParams, PARAM_KEYS } from "./params.js";
import type { DetectorParams } from "./params.js";
import { DetectorStateError } from "./errors.js";

/** A detector for one metric. Not thread-safe; one per metric per actor. */
export interface Detector {
  /** The resolved parameters. */
  readonly params: DetectorParams;
  /**
   * Feeds one reading and returns its anomaly score in [0, 1]. `tsMs` is the reading time in ms
   * since epoch (kept for API stability; the current model is order-based). Non-finite values are
   * ignored and score 0.
   */
  update(value: number, tsMs: number): number;
  /** Serialises the full state (parameters included) into a compact byte array. */
  saveState(): Uint8Array;
  /** Size in bytes of the state `saveState` returns (the detector's memory per metric, payload). */
  stateBytes(): number;
  /** Raw points consumed so far. */
  readonly count: number;
}

const MAGIC = 0x5348_4454; // "SHDT"
const VERSION = 1;
const NUM_SCALARS = 18;
const HEADER = 3 + PARAM_KEYS.length + NUM_SCALARS; // float64 slots: magic, version, reserved, params, scalars

function layout(p: DetectorParams): { histOff: number; distOff: number; total: number } {
  const histOff = HEADER * 8;
  const distOff = histOff + p.historyLength * 4;
  const total = distOff + p.distanceMemory * 4;
  return { histOff, distOff, total };
}

/** Creates a detector with the given parameters (defaults for the rest). Throws RangeError on bad params. */
export function createDetector(params: Partial<DetectorParams> = {}): Detector {
  return build(resolveDetectorParams(params), undefined);
}

/** Rebuilds a detector from `saveState()` bytes. Throws DetectorStateError when they are not a valid state. */
export function restoreDetector(bytes: Uint8Array): Detector {
  if (bytes.byteLength < HEADER * 8) throw new DetectorStateError(`detector state must be at least ${HEADER * 8} bytes, got ${bytes.byteLength}`);
  const copy = new Uint8Array(bytes); // aligned private copy
  const head = new Float64Array(copy.buffer, 0, HEADER);
  if (head[0] !== MAGIC || head[1] !== VERSION) throw new DetectorStateError(`detector state has magic ${head[0]} version ${head[1]}, expected ${MAGIC} version ${VERSION}`);
  const raw: Record<string, number> = {};
  PARAM_KEYS.forEach((k, i) => (raw[k] = head[3 + i]!));
  let params: DetectorParams;
  try {
    params = resolveDetectorParams(raw as Partial<DetectorParams>);
  } catch (err) {
    throw new DetectorStateError("detector state holds invalid parameters", { cause: err });
  }
  if (copy.byteLength !== layout(params).total) throw new DetectorStateError(`detector state must be ${layout(params).total} bytes for its parameters, got ${copy.byteLength}`);
  return build(params, copy);
}

function build(p: DetectorParams, from: Uint8Array | undefined): Detector {
  const { histOff, distOff, total } = layout(p);
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
  if (from !== undefined) {
    const head = new Float64Array(from.buffer, 0, HEADER);
    const s = 3 + PARAM_KEYS.length;
    [n, acc, cnt, bmax, bmin, ma, steps, center, scale, dn, lm, lv, lk, quiet, match] = Array.from(head.subarray(s, s + 15));
    hist.set(new Float32Array(from.buffer, histOff, H));
    dists.set(new Float32Array(from.buffer, distOff, N));
  }
  const eps = p.distanceFloor;

  /** Folds one downsampled step in; returns the logit of its score, or NaN while still learning. */
  function step(v: number): number {
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
    let mx = 0;
    for (let i = 0; i < m; i++) if (dists[i]! > mx) mx = dists[i]!;
    dists[dn % N] = dist;
    dn++;
    if (m < 9) return NaN;
    const r = dist / (mx + 1e-9);
    const f = Math.log(dist + eps);
    const z = lk < 10 ? 0 : (f - lm) / Math.sqrt(lv + 1e-12);
    lk++;
    const al = Math.max(1 / lk, p.likelihoodRate);
    const dd = f - lm;
    lm += al * dd;
    lv = (1 - al) * (lv + al * dd * dd);
    return p.ratioWeight * Math.log(r + 1e-9) + p.likelihoodWeight * z;
  }

  function update(value: number, _tsMs: number): number {
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
      const c = step(v);
      if (!Number.isNaN(c) && n >= p.warmup) out = 1 / (1 + Math.exp(-c));
    }
    if (quiet > 0) {
      quiet--;
      out *= p.restDamping;
    } else if (out >= p.alarmScore) quiet = p.restPoints;
    return out;
  }

  function saveState(): Uint8Array {
    const bytes = new Uint8Array(total);
    const head = new Float64Array(bytes.buffer, 0, HEADER);
    head[0] = MAGIC;
    head[1] = VERSION;
    PARAM_KEYS.forEach((k, i) => (head[3 + i] = p[k]));
    head.set([n, acc, cnt, bmax, bmin, ma, steps, center, scale, dn, lm, lv, lk, quiet, match], 3 + PARAM_KEYS.length);
    new Float32Array(bytes.buffer, histOff, H).set(hist);
    new Float32Array(bytes.buffer, distOff, N).set(dists);
    return bytes;
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
