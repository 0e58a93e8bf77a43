/**
 * Rolling mean/variance of the last `size` samples of one metric, with a z-score based anomaly
 * score. Memory: one Float64Array(size) plus a few numbers. Causal: a sample is scored against the
 * window before it is added.
 */
export interface RollingStats {
  readonly window: Float64Array;
  /** Next write position in the ring. */
  pos: number;
  /** Samples in the ring (≤ window.length). */
  n: number;
  sum: number;
  sumSq: number;
  /** Updates since the last exact recomputation (bounds floating-point drift). */
  sinceRecompute: number;
}

/** Fewer samples than this score 0 (not enough history). */
export const MIN_SAMPLES = 8;

export function newRollingStats(size: number): RollingStats {
  return { window: new Float64Array(size), pos: 0, n: 0, sum: 0, sumSq: 0, sinceRecompute: 0 };
}

/** Score `x` in [0,1] against the window (erf(|z|/√2): 0.9 ≈ 1.64σ, 0.99 ≈ 2.58σ), then add it. */
export function scoreAndAdd(s: RollingStats, x: number): number {
  let score = 0;
  if (s.n >= MIN_SAMPLES) {
    const mean = s.sum / s.n;
    const variance = Math.max(s.sumSq / s.n - mean * mean, 0);
    const std = Math.sqrt(variance);
    const scale = Math.max(std, Math.abs(mean) * 1e-6, 1e-9);
    score = erf(Math.abs(x - mean) / scale / Math.SQRT2);
  }
  add(s, x);
  return score;
}

function add(s: RollingStats, x: number): void {
  const size = s.window.length;
  if (s.n === size) {
    const old = s.window[s.pos]!;
    s.sum -= old;
    s.sumSq -= old * old;
  } else {
    s.n++;
  }
  s.window[s.pos] = x;
  s.pos = (s.pos + 1) % size;
  s.sum += x;
  s.sumSq += x * x;
  if (++s.sinceRecompute >= size * 16) recompute(s);
}

function recompute(s: RollingStats): void {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < s.n; i++) {
    const v = s.window[i]!;
    sum += v;
    sumSq += v * v;
  }
  s.sum = sum;
  s.sumSq = sumSq;
  s.sinceRecompute = 0;
}

/** Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7). */
export function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * x);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/** Plain-data form for snapshots. */
export interface RollingStatsData {
  w: number[];
  p: number;
  n: number;
  /** Running sums and drift counter, kept exactly so a restored actor scores bit-identically. */
  s: number;
  q: number;
  r: number;
}

export function rollingToData(s: RollingStats): RollingStatsData {
  return { w: Array.from(s.window.subarray(0, s.n)), p: s.pos, n: s.n, s: s.sum, q: s.sumSq, r: s.sinceRecompute };
}

export function rollingFromData(d: RollingStatsData, size: number): RollingStats {
  const s = newRollingStats(size);
  const n = Math.min(d.n, size, d.w.length);
  for (let i = 0; i < n; i++) s.window[i] = d.w[i]!;
  s.n = n;
  s.pos = n === size ? d.p % size : n;
  if (n === d.n && typeof d.s === "number") {
    s.sum = d.s;
    s.sumSq = d.q;
    s.sinceRecompute = d.r;
  } else {
    recompute(s); // window size changed by configuration: rebuild the sums
  }
  return s;
}
