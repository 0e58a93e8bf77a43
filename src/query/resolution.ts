import type { Tier } from "../ports/read-model.js";

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** How a range is served: a tier and the width of the points' buckets (0 for raw). */
export interface Resolution {
  readonly tier: Tier;
  readonly bucketMs: number;
}

/**
 * The finest tier that brings back at most `maxPoints` points of a range holding `rawCount`
 * readings: raw when they fit, else 1-minute rollups in buckets of whole minutes, else 1-hour
 * rollups in buckets of whole hours. Buckets are aligned to the epoch, so a range spans at most
 * one bucket more than its length holds: sized for `maxPoints - 1`.
 */
export function chooseResolution(fromMs: number, toMs: number, maxPoints: number, rawCount: number): Resolution {
  if (rawCount <= maxPoints) return { tier: "raw", bucketMs: 0 };
  const step = Math.ceil((toMs - fromMs) / Math.max(1, maxPoints - 1));
  if (step < HOUR) return { tier: "1m", bucketMs: Math.max(1, Math.ceil(step / MINUTE)) * MINUTE };
  return { tier: "1h", bucketMs: Math.ceil(step / HOUR) * HOUR };
}

/** Number of aligned buckets of `bucketMs` a range touches. */
export function bucketsIn(fromMs: number, toMs: number, bucketMs: number): number {
  return Math.floor((toMs - 1) / bucketMs) - Math.floor(fromMs / bucketMs) + 1;
}
