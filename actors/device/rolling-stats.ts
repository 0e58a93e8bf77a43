/**
 * Rolling z-score helpers of the device actor. The rolling window itself now lives in the actor's
 * packed metric buffer (metric-store.ts); this file keeps the error function and the plain-data form
 * of version-1 snapshots (device-snapshot.ts still reads them).
 */

/** Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7). */
export function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * x);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/** A rolling window as version-1 snapshots hold it (JSON). */
export interface RollingStatsData {
  /** The first `n` values of the ring, in storage order. */
  w: number[];
  /** Next write position. */
  p: number;
  n: number;
  /** Running sums and drift counter, kept exactly so a restored actor scores bit-identically. */
  s: number;
  q: number;
  r: number;
}
