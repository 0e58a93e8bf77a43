/**
 * Streaming, causal anomaly detector for one metric: pure, deterministic, bounded state.
 *
 * Pipeline per point (docs/adr/0003-anomaly-detector.md):
 * 1. Downsample: every `downsample` raw points become one step, the block mean pulled toward the
 *    block's extreme by `spikeWeight` (keeps short spikes visible).
 * 2. Nearest-neighbour discord: the last `windowLength` steps are compared (Euclidean) with every
 *    earlier subsequence in a ring of `historyLength` steps; the distance to the nearest one,
 *    divided by the running mean absolute deviation of the data, measures how new the pattern is.
 * 3. Conformal + likelihood layer: the log ratio of that distance to the largest of the last
 *    `distanceMemory` distances, plus the z-score of the log distance against its long-run
 *    distribution, go through a logistic to give a score in [0, 1].
 * 4. Seasonal discord: the same distance restricted to subsequences a whole number of
 *    `seasonPeriodMs` earlier (seasonal-discord.ts); its z-score logit is fused by max with step 3's.
 * 5. Range novelty: a raw reading beyond the range of all earlier readings by more than
 *    `rangeTolerance` of that range; the range forgets slowly (`rangeDecay`) (range-novelty.ts).
 *    A drift gate weighs it: `rangeScore` when the reading (or its short mean) is far from a
 *    drift-following level, or far beyond the range (`rangeClearTolerance`), or the second new
 *    extreme within `rangeRepeat` points; `rangeWeakScore` for a settled series' lone new extreme
 *    near its level; nothing while a slow drift leads there or the range is young (`driftHold`).
 *    A level shift that keeps the short mean beyond its own range scores `rangeScore` too.
 * 6. Alarm rest: once the score reaches `alarmScore`, scores are damped for `restPoints` points,
 *    except the first full range / level score of a rest that a lesser alarm began.
 * The kernel records which term gave each score (`S_TERM`, kernel.ts).
 * Scores between downsampling boundaries are 0. A score for point t uses only points ≤ t.
 */
import { resolveDetectorParams } from "./params.js";
import type { DetectorParams } from "./params.js";
import { decodeState, encodeState, stateLayout } from "./state.js";
import type { DecodedState } from "./state.js";
import { deriveScalars, detectorModel, detectorUpdate, initScalars, S_N, SAVED_SCALARS, SCALAR_SLOTS } from "./kernel.js";

/** A detector for one metric. Not thread-safe; one per metric per actor. */
export interface Detector {
  /** The resolved parameters. */
  readonly params: DetectorParams;
  /**
   * Feeds one reading and returns its anomaly score in [0, 1]. `tsMs` is the reading time in ms
   * since epoch; only the seasonal discord uses it (to convert its period into steps), so
   * timestamps that do not increase merely turn that term off. Non-finite values are ignored and
   * score 0.
   */
  update(value: number, tsMs: number): number;
  /** Serialises the full state (parameters included) into a compact byte array. */
  saveState(): Uint8Array;
  /** Size in bytes of the state `saveState` returns (the detector's memory per metric, payload). */
  stateBytes(): number;
  /** Raw points consumed so far. */
  readonly count: number;
}

/** Creates a detector with the given parameters (defaults for the rest). Throws RangeError on bad params. */
export function createDetector(params: Partial<DetectorParams> = {}): Detector {
  return build(resolveDetectorParams(params), undefined);
}

/**
 * Rebuilds a detector from `saveState()` bytes (this version's or versions 1 and 2's). Throws
 * DetectorStateError when they are not a valid state.
 */
export function restoreDetector(bytes: Uint8Array): Detector {
  const state = decodeState(bytes);
  return build(state.params, state);
}

function build(p: DetectorParams, from: DecodedState | undefined): Detector {
  const { total } = stateLayout(p);
  const H = p.historyLength;
  const model = detectorModel(p);
  // Scalars in slots of one Float64Array, both rings in one Float32Array (history, then distances):
  // the layout of kernel.ts, which a device actor packs many of into one buffer.
  const f64 = new Float64Array(SCALAR_SLOTS);
  const f32 = new Float32Array(H + p.distanceMemory);
  initScalars(f64, 0);
  if (from !== undefined) {
    f64.set(from.scalars.subarray(0, SAVED_SCALARS));
    f32.set(from.hist, 0);
    f32.set(from.dists, H);
    deriveScalars(p, f64, 0, f32, H);
  }
  return {
    params: p,
    update: (value, tsMs) => detectorUpdate(model, f64, 0, f32, 0, H, value, tsMs),
    // Scalar order is the state format (state.ts reads slot 6 = steps, 15/16 = range).
    saveState: () => encodeState(p, f64.subarray(0, SAVED_SCALARS), f32.subarray(0, H), f32.subarray(H)),
    stateBytes: () => total,
    get count() {
      return f64[S_N]!;
    },
  };
}
