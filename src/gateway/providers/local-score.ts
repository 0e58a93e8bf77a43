import { createDetector, defaultDetectorParams } from "../../detector/index.js";
import type { DetectorParams } from "../../detector/index.js";
import type { MetricWindow } from "../../ports/gateway.js";
import type { ScoreFn } from "./local.js";
import { createRobustZScore } from "./local.js";

/**
 * The `local` provider's Score: the NAB detector (src/detector) when the window is long enough
 * for it to have warmed up, else a robust z-score of the last value against the rest (median/MAD).
 * The detector is streaming; for a stateless window we replay it and take the highest score of
 * the last downsampling block (scores between block boundaries are 0 by design).
 */
export function createLocalScoreFn(params: Partial<DetectorParams> = {}): ScoreFn {
  const p = { ...defaultDetectorParams, ...params };
  // Points needed before the detector produces any score.
  const minPoints = Math.max(p.warmup, p.minHistory * p.downsample + p.windowLength * p.downsample) + p.downsample;
  const robust = createRobustZScore();
  return (w: MetricWindow) => {
    if (w.values.length < minPoints) return robust(w);
    const d = createDetector(params);
    const ts = w.tsMs;
    const tail = Math.max(1, p.downsample);
    let best = 0;
    const n = w.values.length;
    for (let i = 0; i < n; i++) {
      const s = d.update(w.values[i]!, ts?.[i] ?? i);
      if (i >= n - tail && s > best) best = s;
    }
    return best;
  };
}

/** Window length from which `createLocalScoreFn` uses the detector (for docs and tests). */
export function detectorMinPoints(params: Partial<DetectorParams> = {}): number {
  const p = { ...defaultDetectorParams, ...params };
  return Math.max(p.warmup, p.minHistory * p.downsample + p.windowLength * p.downsample) + p.downsample;
}
