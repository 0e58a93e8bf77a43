/**
 * State of one device actor and the table of detector models its metrics refer to
 * (docs/adr/0008-device-actor-memory.md). Pure data; no I/O.
 */
import { deriveScalars, detectorModel, PARAM_KEYS, SAVED_SCALARS } from "../detector/index.js";
import type { DetectorModel, DetectorParams } from "../detector/index.js";
import { addMetric, EMPTY_ARRAYS, H_DET, H_DOFF, H_N, H_WOFF, H_POS, H_SINCE, H_SQ, H_SUM, MH, recomputeSums, ringSlots } from "./metric-store.js";
import type { MetricArrays } from "./metric-store.js";
import { newSeqState, type SeqState } from "./sequence-tracker.js";

/**
 * State of one device actor. Metric i (in first-seen order, `names[i]`) is block i of `f64`/`f32`
 * (metric-store.ts): its rolling window, detector scalars and rings, packed in one buffer.
 */
export interface DeviceState extends MetricArrays {
  readonly id: string;
  readonly seq: SeqState;
  /** Readings applied (duplicates excluded). */
  applied: number;
  /** Duplicates skipped (redeliveries, replays). */
  duplicates: number;
  lastTsMs: number;
  /** Stream sequence of the last applied journal message (snapshot + replay point). */
  lastStreamSeq: number;
  online: boolean;
  /** Metric names in first-seen order (replaced, not grown, when a metric appears). */
  names: readonly string[];
}

/** A fresh device state (no metrics: the shared empty arrays). */
export function newDeviceState(id: string): DeviceState {
  return { id, seq: newSeqState(), applied: 0, duplicates: 0, lastTsMs: 0, lastStreamSeq: 0, online: false, names: [], f64: EMPTY_ARRAYS.f64, f32: EMPTY_ARRAYS.f32 };
}

/**
 * Detector models (parameters + scratch) shared by every metric of every actor of one logic
 * instance; metrics refer to them by index. Parameters are compared by value, so a configuration
 * change adds at most one model per distinct parameter set.
 */
export interface ModelTable {
  readonly models: readonly DetectorModel[];
  /** Index of the model with these (resolved) parameters, adding it when new. */
  intern(params: DetectorParams): number;
}

export function createModelTable(): ModelTable {
  const models: DetectorModel[] = [];
  return {
    models,
    intern(params) {
      for (let i = 0; i < models.length; i++) {
        const p = models[i]!.params;
        if (p === params || PARAM_KEYS.every((k) => Object.is(p[k], params[k]))) return i;
      }
      models.push(detectorModel(params));
      return models.length - 1;
    },
  };
}

/** A metric's state in plain form (what snapshots hold), for `placeMetric`. */
export interface MetricParts {
  readonly name: string;
  readonly params: DetectorParams;
  /** Rolling window in storage order (`n` values), its write position, sums and drift counter. */
  readonly window: ArrayLike<number>;
  readonly pos: number;
  /** Running sums and updates since their recomputation; absent: recompute from the window. */
  readonly sums: { readonly sum: number; readonly sumSq: number; readonly since: number } | undefined;
  /** The detector's `SAVED_SCALARS` scalars and its rings' filled parts. */
  readonly scalars: ArrayLike<number>;
  readonly hist: Float32Array;
  readonly dists: Float32Array;
}

/**
 * Adds a metric from its parts. The rolling window takes the current `windowSize`; when it differs
 * from the saved one the first values are kept and the sums rebuilt (as version 1 did).
 */
export function placeMetric(s: DeviceState, table: ModelTable, parts: MetricParts, windowSize: number): void {
  const model = table.intern(parts.params);
  const i = addMetric(s, model, windowSize, parts.hist.length, parts.dists.length);
  s.names = s.names.concat(parts.name);
  const f64 = s.f64;
  const o = i * MH;
  const savedN = parts.window.length;
  const n = Math.min(savedN, windowSize);
  const w = f64[o + H_WOFF]!;
  for (let k = 0; k < n; k++) f64[w + k] = parts.window[k]!;
  f64[o + H_N] = n;
  f64[o + H_POS] = n === windowSize ? parts.pos % windowSize : n;
  if (n === savedN && parts.sums !== undefined) {
    f64[o + H_SUM] = parts.sums.sum;
    f64[o + H_SQ] = parts.sums.sumSq;
    f64[o + H_SINCE] = parts.sums.since;
  } else {
    recomputeSums(f64, i); // window size changed by configuration: rebuild the sums
  }
  for (let k = 0; k < SAVED_SCALARS; k++) f64[o + H_DET + k] = parts.scalars[k]!;
  const rings = ringSlots(s, i, parts.hist.length, parts.dists.length);
  rings.hist.set(parts.hist);
  rings.dists.set(parts.dists);
  deriveScalars(parts.params, f64, o + H_DET, s.f32, f64[o + H_DOFF]!);
}
