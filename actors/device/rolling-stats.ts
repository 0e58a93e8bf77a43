/**
 * Rolling z-score helpers of the device actor. The rolling window itself now lives in the actor's
 * packed metric buffer (metric-store.ts); this file keeps the plain-data form
 * of version-1 snapshots (device-snapshot.ts still reads them).
 */

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
