/**
 * Seasonal discord: the nearest-neighbour distance restricted to subsequences that start a whole
 * number of periods (a day by default) before the current one, give or take a few steps. The plain
 * discord asks "was this shape ever seen?"; this one asks "was it seen *at this time of day*?", so
 * a normal shape at the wrong time (a daily peak that does not come, a night that looks like a
 * day) stands out. The period in steps comes from the observed sampling interval; when the history
 * does not hold one full period the term is skipped. Pure functions over the detector's ring.
 */

/** Exponential rate of the step-duration estimate (ms per downsampled step). */
export const STEP_DURATION_RATE = 0.05;

/** Updates the running step duration with the gap `dtMs` between two steps; bad gaps are ignored. */
export function nextStepDuration(current: number, dtMs: number): number {
  if (!(Number.isFinite(dtMs) && dtMs > 0)) return current;
  return current > 0 ? current + (dtMs - current) * STEP_DURATION_RATE : dtMs;
}

/**
 * Squared Euclidean distance (sum over the L values) from the current subsequence `q` (length L,
 * starting at absolute step `cur0`) to the nearest subsequence of the ring `hist` starting
 * k·`period` ± `tolerance` steps before it (k ≥ 1), at or after absolute step `first` (the oldest
 * in the ring) and before `end` (trivial matches excluded); Infinity when there is none. Early
 * abandoning keeps it cheap: a few days of history give a few dozen candidates. Positional
 * arguments because it runs once per step (no allocation on the hot path). The ring may live inside a
 * larger array: it starts at `off` and has logical length `H` (positions beyond what was written
 * are never read).
 */
export function seasonalNearest(hist: Float32Array, q: Float64Array, cur0: number, first: number, end: number, period: number, tolerance: number, off = 0, H = hist.length): number {
  const L = q.length;
  let best = Number.POSITIVE_INFINITY;
  for (let k = 1; cur0 - k * period - tolerance >= first; k++) {
    for (let o = -tolerance; o <= tolerance; o++) {
      const st = cur0 - k * period + o;
      if (st >= end) continue;
      let d = 0;
      // One modulo per candidate (positions may be large doubles), then small integers.
      const b = (st % H) | 0;
      if (L >= 4 && b + L <= H) {
        // Not wrapping: four terms before the first test, as the plain discord's search does (kernel.ts).
        const o = off + b;
        let e = hist[o]! - q[0]!;
        d = e * e;
        e = hist[o + 1]! - q[1]!;
        d += e * e;
        e = hist[o + 2]! - q[2]!;
        d += e * e;
        e = hist[o + 3]! - q[3]!;
        d += e * e;
        for (let j = 4; j < L && d < best; j++) {
          e = hist[o + j]! - q[j]!;
          d += e * e;
        }
      } else {
        for (let j = 0, i = b; j < L; j++, i = i + 1 === H ? 0 : i + 1) {
          const e = hist[off + i]! - q[j]!;
          d += e * e;
          if (d >= best) break;
        }
      }
      if (d < best) best = d;
    }
  }
  return best;
}
