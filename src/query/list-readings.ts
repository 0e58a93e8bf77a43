import type { ReadModel, SeriesPoint } from "../ports/read-model.js";
import { chooseResolution, type Resolution } from "./resolution.js";

/**
 * The rollup is read alongside the count only for ranges of at least `maxPoints` minutes: there a
 * device reporting once a minute or more already overflows `maxPoints`, so the rollup is the
 * likely answer; shorter ranges count first, as before.
 */
const SPECULATE_PER_POINT_MS = 60_000;

/** What ListReadings asks of the read model once its request is validated. */
export interface SeriesRequest {
  readonly deviceId: string;
  readonly metric: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly maxPoints: number;
}

/**
 * A metric's points over a range at the finest resolution that fits `maxPoints`
 * (`chooseResolution` on the count of raw readings). The rollup series that a range holding more
 * than `maxPoints` readings gets depends on the range alone, so it is asked for at the same time
 * as the count instead of after it: one ClickHouse round trip of latency instead of two for the
 * long ranges that dashboards ask for (bench:query, one device's month in 1,000 points). When the
 * count says raw, that speculative answer is dropped (a cheap rollup read, left to finish so the
 * pooled connection stays usable) and the raw rows are read: the same answer as count-then-series.
 */
export async function readSeries(readModel: ReadModel, q: SeriesRequest, signal?: AbortSignal): Promise<{ resolution: Resolution; points: SeriesPoint[] }> {
  const read = (r: Resolution) => readModel.series({ deviceId: q.deviceId, metric: q.metric, fromMs: q.fromMs, toMs: q.toMs, tier: r.tier, bucketMs: r.bucketMs, limit: q.maxPoints }, signal);
  if (q.toMs - q.fromMs < q.maxPoints * SPECULATE_PER_POINT_MS) {
    // A short range: its raw readings usually fit, so a speculative rollup read would mostly be
    // wasted ClickHouse work (bench:query, a 1-hour raw range: 5.4 → 8.5 ms of its CPU per call).
    const resolution = chooseResolution(q.fromMs, q.toMs, q.maxPoints, await readModel.countReadings(q.deviceId, q.metric, q.fromMs, q.toMs, signal));
    return { resolution, points: await read(resolution) };
  }
  const rollup = chooseResolution(q.fromMs, q.toMs, q.maxPoints, Number.POSITIVE_INFINITY);
  const speculative = read(rollup);
  // Observed now so that a failure of an answer that turns out unneeded is not an unhandled rejection.
  speculative.catch(() => undefined);
  const raw = await readModel.countReadings(q.deviceId, q.metric, q.fromMs, q.toMs, signal);
  const resolution = chooseResolution(q.fromMs, q.toMs, q.maxPoints, raw);
  if (resolution.tier === rollup.tier && resolution.bucketMs === rollup.bucketMs) return { resolution, points: await speculative };
  return { resolution, points: await read(resolution) };
}
