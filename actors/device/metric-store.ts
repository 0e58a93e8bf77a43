/**
 * Packed per-metric state of one device actor (docs/adr/0008-device-actor-memory.md): every metric
 * of the actor lives in one block of a slab shared by all actors of the logic instance
 * (metric-arena.ts), seen through the slab's Float64Array (`f64`) and Float32Array (`f32`), instead
 * of a Map of objects each owning typed arrays and closures.
 *
 * Block layout (offsets relative to the block; the block starts at f64 index `base`, f32 index
 * `2·base`): `count` headers of `MH` float64 slots (metric i at i·MH: its detector model, ring
 * offsets and capacities, the rolling window's cursor and sums, the detector's scalars — actors/
 * detector kernel.ts), then, in the f32 view, the rolling windows and each metric's history ring
 * and distance ring. Window values are stored as float32 (as the detector's history already is:
 * sensor readings rarely carry more than 7 significant digits, and the rows written keep the
 * readings' own values); the running sums are float64 over the stored values. A young metric's
 * rings hold its first 16 steps (no distances); when it needs more they grow once to the
 * detector's full lengths (`ringCaps`), so a young metric does not pay for 340 + 157 floats it
 * cannot use yet. The rolling window (64 samples) is allocated whole. Pure data and functions.
 */
import { detectorUpdate, initScalars, ringNeeds, SCALAR_SLOTS } from "../../src/detector/index.js";
import type { DetectorModel } from "../../src/detector/index.js";
import type { BlockRef, MetricArena } from "./metric-arena.js";
import { shortestDecimal } from "./float32-decimal.js";

/** The block holding an actor's metrics (slab views + offset; metric-arena.ts). */
export type MetricArrays = BlockRef;

// Header slots of a metric.
/** Index of the metric's detector model in the logic instance's model table. */
export const H_MODEL = 0;
/** Rolling window size (samples). */
export const H_W = 1;
/** f32 index of the rolling window (relative to the block). */
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

/** Capacities of one metric's parts in a layout. */
interface Caps {
  readonly w: number;
  readonly h: number;
  readonly d: number;
}

/**
 * Moves `a` to a new block where metric i has capacities `caps[i]` (metrics beyond the old count
 * are new: their header is left zero for the caller to initialise). Headers, windows and ring
 * contents are copied; the old block goes back to the arena.
 */
function relayout(a: MetricArrays, arena: MetricArena, caps: readonly Caps[]): void {
  const k = caps.length;
  const f64Len = k * MH;
  let f32Len = 0;
  for (const c of caps) f32Len += c.w + c.h + c.d;
  const next: BlockRef = { f64: a.f64, f32: a.f32, base: 0, units: 0 };
  arena.alloc(next, f64Len + ((f32Len + 1) >>> 1));
  const f64 = next.f64;
  const f32 = next.f32;
  const nb = next.base;
  const old = a.f64;
  const oldF32 = a.f32;
  const ob = a.base;
  const oldCount = countOf(a);
  let woff = 2 * f64Len;
  let foff = woff;
  for (const c of caps) foff += c.w;
  for (let i = 0; i < k; i++) {
    const c = caps[i]!;
    const o = i * MH;
    if (i < oldCount) {
      f64.set(old.subarray(ob + o, ob + o + MH), nb + o);
      const ow = 2 * ob + old[ob + o + H_WOFF]!;
      f32.set(oldF32.subarray(ow, ow + Math.min(c.w, old[ob + o + H_W]!)), 2 * nb + woff);
      const oh = 2 * ob + old[ob + o + H_HOFF]!;
      f32.set(oldF32.subarray(oh, oh + Math.min(c.h, old[ob + o + H_HCAP]!)), 2 * nb + foff);
      const od = 2 * ob + old[ob + o + H_DOFF]!;
      f32.set(oldF32.subarray(od, od + Math.min(c.d, old[ob + o + H_DCAP]!)), 2 * nb + foff + c.h);
    }
    f64[nb + o + H_W] = c.w;
    f64[nb + o + H_WOFF] = woff;
    f64[nb + o + H_HOFF] = foff;
    f64[nb + o + H_HCAP] = c.h;
    f64[nb + o + H_DOFF] = foff + c.h;
    f64[nb + o + H_DCAP] = c.d;
    woff += c.w;
    foff += c.h + c.d;
  }
  arena.release(a);
  a.f64 = f64;
  a.f32 = f32;
  a.base = nb;
  a.units = next.units;
}

/** Metrics held by `a` (the first header's window starts right after the headers). */
export function countOf(a: MetricArrays): number {
  return a.units === 0 ? 0 : a.f64[a.base + H_WOFF]! / (2 * MH);
}

function capsOf(a: MetricArrays): Caps[] {
  const out: Caps[] = [];
  const f64 = a.f64;
  for (let i = 0, k = countOf(a); i < k; i++) {
    const o = a.base + i * MH;
    out.push({ w: f64[o + H_W]!, h: f64[o + H_HCAP]!, d: f64[o + H_DCAP]! });
  }
  return out;
}

/**
 * Appends a metric with detector model `modelIndex` (of `model`) and a `windowSize`-sample rolling
 * window, rings sized for `histFill` / `distFill` values (0 for a new metric); returns its index.
 */
export function addMetric(a: MetricArrays, arena: MetricArena, modelIndex: number, windowSize: number, histFill = 0, distFill = 0): number {
  const caps = capsOf(a);
  const i = caps.length;
  caps.push({ w: windowSize, h: histFill, d: distFill });
  relayout(a, arena, caps);
  const o = a.base + i * MH;
  a.f64[o + H_MODEL] = modelIndex;
  initScalars(a.f64, o + H_DET);
  return i;
}

/** History ring capacity of a young metric (its first 16 steps: 64 readings at the default downsampling). */
export const YOUNG_RING = 16;

/**
 * Ring capacities for metric parts holding `hist` / `dists` values: young (`YOUNG_RING`, no
 * distances) while they fit, else the detector's full lengths. Two sizes only, so a metric moves
 * once in its life (young → grown), and the arena sees two block sizes per metric count, which
 * its free lists reuse (many intermediate sizes would leave holes no one reuses: ADR 0008).
 */
export function ringCaps(m: DetectorModel, hist: number, dists: number): { readonly h: number; readonly d: number } {
  const young = Math.min(YOUNG_RING, m.params.historyLength);
  return hist <= young && dists === 0 ? { h: young, d: 0 } : { h: m.params.historyLength, d: m.params.distanceMemory };
}

/** Grows metric i's rings to full size when the next point needs more room (once per metric). */
function ensureRings(a: MetricArrays, arena: MetricArena, i: number, m: DetectorModel): void {
  const o = a.base + i * MH;
  const need = ringNeeds(m.params, a.f64, o + H_DET);
  if (need === 0) return;
  const h = Math.floor(need / 1024);
  const d = need % 1024;
  if (h <= a.f64[o + H_HCAP]! && d <= a.f64[o + H_DCAP]!) return;
  const caps = capsOf(a);
  caps[i] = { w: caps[i]!.w, h: m.params.historyLength, d: m.params.distanceMemory };
  relayout(a, arena, caps);
}

/** Feeds `value` to metric i's detector; returns its score. */
export function detectMetric(a: MetricArrays, arena: MetricArena, i: number, m: DetectorModel, value: number, tsMs: number): number {
  ensureRings(a, arena, i, m);
  const f64 = a.f64;
  const o = a.base + i * MH;
  const fb = 2 * a.base;
  return detectorUpdate(m, f64, o + H_DET, a.f32, fb + f64[o + H_HOFF]!, fb + f64[o + H_DOFF]!, value, tsMs);
}

/**
 * |z| of `x` against metric i's rolling window (0 below MIN_SAMPLES values), then adds it. Causal:
 * the window before `x`. A z rather than a probability: erf cannot tell 6σ from 5σ in doubles.
 */
export function rollingZAndAdd(a: MetricArrays, i: number, value: number): number {
  const f64 = a.f64;
  const f32 = a.f32;
  // Scored as given; kept as stored (float32), so the sums are exactly those of the window's values.
  const x = Math.fround(value);
  const o = a.base + i * MH;
  const n = f64[o + H_N]!;
  let score = 0;
  if (n >= MIN_SAMPLES) {
    const mean = f64[o + H_SUM]! / n;
    const variance = Math.max(f64[o + H_SQ]! / n - mean * mean, 0);
    const std = Math.sqrt(variance);
    const scale = Math.max(std, Math.abs(mean) * 1e-6, 1e-9);
    score = Math.abs(value - mean) / scale;
  }
  const size = f64[o + H_W]!;
  const w = 2 * a.base + f64[o + H_WOFF]!;
  const pos = f64[o + H_POS]!;
  if (n === size) {
    const old = f32[w + pos]!;
    f64[o + H_SUM] = f64[o + H_SUM]! - old;
    f64[o + H_SQ] = f64[o + H_SQ]! - old * old;
  } else {
    f64[o + H_N] = n + 1;
  }
  f32[w + pos] = x;
  f64[o + H_POS] = (pos + 1) % size;
  f64[o + H_SUM] = f64[o + H_SUM]! + x;
  f64[o + H_SQ] = f64[o + H_SQ]! + x * x;
  const since = f64[o + H_SINCE]! + 1;
  f64[o + H_SINCE] = since;
  if (since >= size * 16) recomputeSums(a, i);
  return score;
}

/** Recomputes metric i's window sums exactly (bounds floating-point drift). */
export function recomputeSums(a: MetricArrays, i: number): void {
  const f64 = a.f64;
  const o = a.base + i * MH;
  const w = 2 * a.base + f64[o + H_WOFF]!;
  const n = f64[o + H_N]!;
  let sum = 0;
  let sumSq = 0;
  for (let k = 0; k < n; k++) {
    const v = a.f32[w + k]!;
    sum += v;
    sumSq += v * v;
  }
  f64[o + H_SUM] = sum;
  f64[o + H_SQ] = sumSq;
  f64[o + H_SINCE] = 0;
}

/** Metric i's rolling window values in storage order (the first `H_N` slots of the window). */
export function windowSlots(a: MetricArrays, i: number): Float32Array {
  const o = a.base + i * MH;
  const w = 2 * a.base + a.f64[o + H_WOFF]!;
  return a.f32.subarray(w, w + a.f64[o + H_N]!);
}

/**
 * Metric i's recent values, oldest first (the window sent to the gateway), at float32's precision
 * (7 significant digits: 20.1, not 20.100000381469727).
 */
export function recentValues(a: MetricArrays, i: number): number[] {
  const f64 = a.f64;
  const o = a.base + i * MH;
  const size = f64[o + H_W]!;
  const n = f64[o + H_N]!;
  const w = 2 * a.base + f64[o + H_WOFF]!;
  const start = n === size ? f64[o + H_POS]! : 0;
  const out = new Array<number>(n);
  for (let k = 0; k < n; k++) out[k] = shortestDecimal(a.f32[w + ((start + k) % size)]!);
  return out;
}

/** Metric i's history ring (`fill` values) and distance ring (`dfill` values) as views. */
export function ringSlots(a: MetricArrays, i: number, fill: number, dfill: number): { readonly hist: Float32Array; readonly dists: Float32Array } {
  const o = a.base + i * MH;
  const h = 2 * a.base + a.f64[o + H_HOFF]!;
  const d = 2 * a.base + a.f64[o + H_DOFF]!;
  return { hist: a.f32.subarray(h, h + fill), dists: a.f32.subarray(d, d + dfill) };
}
