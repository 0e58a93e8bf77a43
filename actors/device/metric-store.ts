/**
 * Packed per-metric state of one device actor (docs/adr/0008-device-actor-memory.md): every metric
 * of the actor lives in one ArrayBuffer, seen through a Float64Array (`f64`) and a Float32Array
 * (`f32`), instead of a Map of objects each owning typed arrays and closures.
 *
 * Layout: `count` headers of `MH` float64 slots (metric i at i·MH: its detector model, ring offsets
 * and capacities, the rolling window's cursor and sums, the detector's scalars — actors/detector
 * kernel.ts), then the rolling windows (float64), then, in the f32 view, each metric's history ring
 * and distance ring. The rings grow on demand (doubling from 16 up to the detector's lengths) while
 * they fill, so a young metric does not pay for 340 + 157 floats it cannot use yet; the rolling
 * window (64 samples by default) is allocated whole. Pure data and functions, no I/O.
 */
import { detectorUpdate, initScalars, ringNeeds, SCALAR_SLOTS } from "../detector/index.js";
import type { DetectorModel } from "../detector/index.js";
import { erf } from "./rolling-stats.js";

/** The typed arrays holding an actor's metrics (both views of the same buffer). */
export interface MetricArrays {
  f64: Float64Array;
  f32: Float32Array;
}

// Header slots of a metric.
/** Index of the metric's detector model in the logic instance's model table. */
export const H_MODEL = 0;
/** Rolling window size (samples). */
export const H_W = 1;
/** f64 index of the rolling window. */
export const H_WOFF = 2;
const H_HOFF = 3; // f32 index of the history ring
const H_HCAP = 4; // its capacity
/** f32 index of the distance ring. */
export const H_DOFF = 5;
const H_DCAP = 6;
/** Rolling window: next write position, samples held, running sums, updates since recomputation. */
export const H_POS = 7;
export const H_N = 8;
export const H_SUM = 9;
export const H_SQ = 10;
export const H_SINCE = 11;
/** First of the detector's `SCALAR_SLOTS` scalar slots. */
export const H_DET = 12;
/** Float64 slots per metric header. */
export const MH = H_DET + SCALAR_SLOTS;

/** Fewer samples than this give a rolling z-score of 0 (not enough history). */
export const MIN_SAMPLES = 8;

/** Arrays of an actor without metrics (shared, never written). */
export const EMPTY_ARRAYS: Readonly<MetricArrays> = Object.freeze({ f64: new Float64Array(0), f32: new Float32Array(0) });

/** Capacities of one metric's parts in a layout. */
interface Caps {
  readonly w: number;
  readonly h: number;
  readonly d: number;
}

/**
 * Rebuilds `a` with metric i given capacities `caps[i]` (metrics beyond the old count are new: their
 * header is left zero for the caller to initialise). Headers, windows and ring contents are copied.
 */
function relayout(a: MetricArrays, caps: readonly Caps[]): void {
  const k = caps.length;
  let f64Len = k * MH;
  for (const c of caps) f64Len += c.w;
  let f32Len = 0;
  for (const c of caps) f32Len += c.h + c.d;
  const buf = new ArrayBuffer(f64Len * 8 + f32Len * 4);
  const f64 = new Float64Array(buf, 0, f64Len);
  const f32 = new Float32Array(buf, f64Len * 8, f32Len);
  const old = a.f64;
  const oldF32 = a.f32;
  const oldCount = old.length === 0 ? 0 : countOf(old);
  let woff = k * MH;
  let foff = 0;
  for (let i = 0; i < k; i++) {
    const c = caps[i]!;
    const o = i * MH;
    if (i < oldCount) {
      f64.set(old.subarray(o, o + MH), o);
      const ow = old[o + H_WOFF]!;
      f64.set(old.subarray(ow, ow + Math.min(c.w, old[o + H_W]!)), woff);
      const oh = old[o + H_HOFF]!;
      f32.set(oldF32.subarray(oh, oh + Math.min(c.h, old[o + H_HCAP]!)), foff);
      const od = old[o + H_DOFF]!;
      f32.set(oldF32.subarray(od, od + Math.min(c.d, old[o + H_DCAP]!)), foff + c.h);
    }
    f64[o + H_W] = c.w;
    f64[o + H_WOFF] = woff;
    f64[o + H_HOFF] = foff;
    f64[o + H_HCAP] = c.h;
    f64[o + H_DOFF] = foff + c.h;
    f64[o + H_DCAP] = c.d;
    woff += c.w;
    foff += c.h + c.d;
  }
  a.f64 = f64;
  a.f32 = f32;
}

/** Metrics held by `f64` (the first header's window starts right after the headers). */
export function countOf(f64: Float64Array): number {
  return f64.length === 0 ? 0 : f64[H_WOFF]! / MH;
}

function capsOf(f64: Float64Array): Caps[] {
  const out: Caps[] = [];
  for (let i = 0, k = countOf(f64); i < k; i++) out.push({ w: f64[i * MH + H_W]!, h: f64[i * MH + H_HCAP]!, d: f64[i * MH + H_DCAP]! });
  return out;
}

/**
 * Appends a metric with detector model `modelIndex` (of `model`) and a `windowSize`-sample rolling
 * window, rings sized for `histFill` / `distFill` values (0 for a new metric); returns its index.
 */
export function addMetric(a: MetricArrays, modelIndex: number, windowSize: number, histFill = 0, distFill = 0): number {
  const caps = capsOf(a.f64);
  const i = caps.length;
  caps.push({ w: windowSize, h: histFill, d: distFill });
  relayout(a, caps);
  const o = i * MH;
  a.f64[o + H_MODEL] = modelIndex;
  initScalars(a.f64, o + H_DET);
  return i;
}

/** The next capacity of a ring that must hold `need` values (≤ `max`): doubling from 16. */
function grown(need: number, cap: number, max: number): number {
  let c = Math.max(16, cap * 2);
  while (c < need) c *= 2;
  return Math.min(c, max);
}

/** Grows metric i's rings when the next point needs more room (rare: a few times per metric). */
function ensureRings(a: MetricArrays, i: number, m: DetectorModel): void {
  const o = i * MH;
  const need = ringNeeds(m.params, a.f64, o + H_DET);
  if (need === 0) return;
  const h = Math.floor(need / 1024);
  const d = need % 1024;
  const hcap = a.f64[o + H_HCAP]!;
  const dcap = a.f64[o + H_DCAP]!;
  if (h <= hcap && d <= dcap) return;
  const caps = capsOf(a.f64);
  caps[i] = { w: caps[i]!.w, h: h <= hcap ? hcap : grown(h, hcap, m.params.historyLength), d: d <= dcap ? dcap : grown(d, dcap, m.params.distanceMemory) };
  relayout(a, caps);
}

/** Feeds `value` to metric i's detector; returns its score. */
export function detectMetric(a: MetricArrays, i: number, m: DetectorModel, value: number, tsMs: number): number {
  ensureRings(a, i, m);
  const f64 = a.f64;
  const o = i * MH;
  return detectorUpdate(m, f64, o + H_DET, a.f32, f64[o + H_HOFF]!, f64[o + H_DOFF]!, value, tsMs);
}

/**
 * Scores `x` in [0,1] against metric i's rolling window (erf(|z|/√2): 0.9 ≈ 1.64σ, 0.99 ≈ 2.58σ),
 * then adds it. Causal: the window before `x`.
 */
export function rollingScoreAndAdd(f64: Float64Array, i: number, x: number): number {
  const o = i * MH;
  const n = f64[o + H_N]!;
  let score = 0;
  if (n >= MIN_SAMPLES) {
    const mean = f64[o + H_SUM]! / n;
    const variance = Math.max(f64[o + H_SQ]! / n - mean * mean, 0);
    const std = Math.sqrt(variance);
    const scale = Math.max(std, Math.abs(mean) * 1e-6, 1e-9);
    score = erf(Math.abs(x - mean) / scale / Math.SQRT2);
  }
  const size = f64[o + H_W]!;
  const w = f64[o + H_WOFF]!;
  const pos = f64[o + H_POS]!;
  if (n === size) {
    const old = f64[w + pos]!;
    f64[o + H_SUM] = f64[o + H_SUM]! - old;
    f64[o + H_SQ] = f64[o + H_SQ]! - old * old;
  } else {
    f64[o + H_N] = n + 1;
  }
  f64[w + pos] = x;
  f64[o + H_POS] = (pos + 1) % size;
  f64[o + H_SUM] = f64[o + H_SUM]! + x;
  f64[o + H_SQ] = f64[o + H_SQ]! + x * x;
  const since = f64[o + H_SINCE]! + 1;
  f64[o + H_SINCE] = since;
  if (since >= size * 16) recomputeSums(f64, i);
  return score;
}

/** Recomputes metric i's window sums exactly (bounds floating-point drift). */
export function recomputeSums(f64: Float64Array, i: number): void {
  const o = i * MH;
  const w = f64[o + H_WOFF]!;
  const n = f64[o + H_N]!;
  let sum = 0;
  let sumSq = 0;
  for (let k = 0; k < n; k++) {
    const v = f64[w + k]!;
    sum += v;
    sumSq += v * v;
  }
  f64[o + H_SUM] = sum;
  f64[o + H_SQ] = sumSq;
  f64[o + H_SINCE] = 0;
}

/** Metric i's rolling window values in storage order (the first `H_N` slots of the window). */
export function windowSlots(f64: Float64Array, i: number): Float64Array {
  const w = f64[i * MH + H_WOFF]!;
  return f64.subarray(w, w + f64[i * MH + H_N]!);
}

/** Metric i's recent values, oldest first (the window sent to the gateway). */
export function recentValues(f64: Float64Array, i: number): number[] {
  const o = i * MH;
  const size = f64[o + H_W]!;
  const n = f64[o + H_N]!;
  const w = f64[o + H_WOFF]!;
  const start = n === size ? f64[o + H_POS]! : 0;
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push(f64[w + ((start + k) % size)]!);
  return out;
}

/** Metric i's history ring (`fill` values) and distance ring (`dfill` values) as views. */
export function ringSlots(a: MetricArrays, i: number, fill: number, dfill: number): { readonly hist: Float32Array; readonly dists: Float32Array } {
  const o = i * MH;
  const h = a.f64[o + H_HOFF]!;
  const d = a.f64[o + H_DOFF]!;
  return { hist: a.f32.subarray(h, h + fill), dists: a.f32.subarray(d, d + dfill) };
}
