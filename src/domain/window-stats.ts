/** Robust statistics of a numeric window, shared by the local models, prompts and signatures. */
export interface WindowStats {
  readonly n: number;
  readonly last: number;
  readonly min: number;
  readonly max: number;
  readonly median: number;
  /** Median absolute deviation scaled to σ of a normal distribution (×1.4826). */
  readonly mad: number;
  readonly mean: number;
  readonly std: number;
  /** Robust z-score of the last value against the others (0 when undefined). */
  readonly lastZ: number;
}

/** Statistics of `values`; `lastZ` compares the last value with the rest (median/MAD, std fallback). */
export function windowStats(values: readonly number[]): WindowStats {
  const n = values.length;
  if (n === 0) return { n: 0, last: 0, min: 0, max: 0, median: 0, mad: 0, mean: 0, std: 0, lastZ: 0 };
  const last = values[n - 1]!;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const mean = sum / n;
  let sq = 0;
  for (const v of values) sq += (v - mean) * (v - mean);
  const std = Math.sqrt(sq / n);
  // Reference set: every value but the last (the one being judged).
  const r = robustRef(values, new Float64Array(n), new Float64Array(n));
  return { n, last, min, max, median: r.median, mad: r.mad, mean, std, lastZ: n > 1 ? (last - r.median) / r.scale : 0 };
}

/** Sort `dst[0..m)` in place: insertion sort for small windows (4x faster than a typed sort at 32). */
function sortPrefix(dst: Float64Array, m: number): void {
  if (m > 96) {
    dst.subarray(0, m).sort();
    return;
  }
  for (let i = 1; i < m; i++) {
    const v = dst[i]!;
    let j = i - 1;
    while (j >= 0 && dst[j]! > v) {
      dst[j + 1] = dst[j]!;
      j--;
    }
    dst[j + 1] = v;
  }
}

function medianPrefix(a: Float64Array, m: number): number {
  if (m === 0) return 0;
  const h = m >> 1;
  return m % 2 ? a[h]! : (a[h - 1]! + a[h]!) / 2;
}

/**
 * Median and MAD of every value but the last (the reference the last value is judged against),
 * with the scale used for z-scores (MAD, else std of the reference, else 1% of |median|).
 * `a` and `b` are scratch arrays of at least `values.length` (callers on hot paths reuse them).
 */
export function robustRef(values: readonly number[], a: Float64Array, b: Float64Array): { median: number; mad: number; scale: number } {
  const n = values.length;
  const m = n > 1 ? n - 1 : n;
  for (let i = 0; i < m; i++) a[i] = values[i]!;
  sortPrefix(a, m);
  const median = medianPrefix(a, m);
  for (let i = 0; i < m; i++) b[i] = Math.abs(a[i]! - median);
  sortPrefix(b, m);
  const mad = medianPrefix(b, m) * 1.4826;
  let scale = mad;
  if (!(scale > 1e-12)) {
    // Flat history: fall back to the reference std, then to a relative scale.
    let rs = 0;
    for (let i = 0; i < m; i++) rs += (a[i]! - median) * (a[i]! - median);
    scale = Math.sqrt(rs / Math.max(1, m));
    if (!(scale > 1e-12)) scale = Math.max(1e-9, Math.abs(median) * 0.01);
  }
  return { median, mad, scale };
}

/**
 * Robust z-score of the last value against the rest, allocation-free given scratch arrays
 * (the Score hot path). Same result as `windowStats(values).lastZ`.
 */
export function robustLastZ(values: readonly number[], a: Float64Array, b: Float64Array): number {
  const n = values.length;
  if (n < 2) return 0;
  const r = robustRef(values, a, b);
  return (values[n - 1]! - r.median) / r.scale;
}
