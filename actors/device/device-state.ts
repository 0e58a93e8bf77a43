/**
 * State of one device actor and the table of detector models its metrics refer to
 * (docs/adr/0008-device-actor-memory.md). Pure data; no I/O.
 */
import { deriveScalars, detectorModel, PARAM_KEYS, SAVED_SCALARS } from "../../src/detector/index.js";
import type { DetectorModel, DetectorParams } from "../../src/detector/index.js";
import { EMPTY_F32, EMPTY_F64 } from "./metric-arena.js";
import type { MetricArena } from "./metric-arena.js";
import { addMetric, ringCaps, H_DET, H_DOFF, H_N, H_WOFF, H_POS, H_SINCE, H_SQ, H_SUM, MH, recomputeSums, ringSlots } from "./metric-store.js";
import type { MetricArrays } from "./metric-store.js";
import { newSeqState, type SeqState } from "./sequence-tracker.js";
import type { DeviceAlerts } from "../alert/index.js";

/**
 * State of one device actor: its sequence tracking (the SeqState fields, inline rather than a
 * separate object), counters, and its metrics. Metric i (in first-seen order, `names[i]`) is
 * header i of its block in the logic instance's arena (metric-store.ts, metric-arena.ts): its
 * rolling window, detector scalars and rings, packed together.
 */
export interface DeviceState extends MetricArrays, SeqState {
  readonly id: string;
  /** Readings applied (duplicates excluded). */
  applied: number;
  /** Duplicates skipped (redeliveries, replays). */
  duplicates: number;
  /** Stream sequence of the last applied journal message (snapshot + replay point). */
  lastStreamSeq: number;
  online: boolean;
  /**
   * When the last reading was applied here, whole seconds of the runtime's clock (floored; a small
   * integer, so V8 keeps it unboxed). A heartbeat timeout that fires well before the timeout has
   * passed since (a timer kept before a crash, older than the snapshot's last reading) waits out
   * the rest instead of reporting the device offline early.
   */
  lastSeenS: number;
  /** Metric names in first-seen order (replaced, not grown, when a metric appears). */
  names: readonly string[];
  /**
   * Anomaly windows waiting for the readings after their anomaly (src/domain/window-features.ts),
   * oldest first, `PW` numbers each (`PW_EPOCH` … `PW_JOINED`: the anomaly's epoch, seq, timestamp,
   * metric index and score, the readings of that metric still to come, and 1 when the anomaly
   * joined an incident another one opened), at most
   * `MAX_PENDING_WINDOWS`. Absent (or undefined) when there are none, the common case: a device
   * without a pending window holds no array (one flat array of doubles when it has some, no object
   * per window). Absent until the first anomaly, undefined after its window completed (never
   * `delete`d: that would turn the state into a dictionary): a device that never had an anomaly
   * pays nothing, one that had ~22 B for the property (measured, 200k states; declaring it
   * undefined in `newDeviceState` would cost every device ~8 B instead). Part of the snapshot
   * (version 5; `PW_JOINED` since version 9).
   */
  pending?: number[] | undefined;
  /**
   * The device's alerts (actors/alert: pending conditions, open alerts, counters), hosted by the
   * device actor so they share its turns, snapshot (version 6) and recovery. Absent or undefined
   * while nothing is tracked, the common case (as `pending`: never `delete`d).
   */
  alerts?: DeviceAlerts | undefined;
  /**
   * The device-level (joint) model of its first `jointMetrics(names.length)` metrics
   * (src/detector/joint.ts, actors/device/joint-store.ts): `jointSlots(k)` doubles. Absent while the
   * device has one metric (the common case pays nothing), as `pending`: never `delete`d. Part of the
   * snapshot (version 7).
   */
  joint?: Float64Array | undefined;
}

/** Numbers per pending anomaly window in `DeviceState.pending`, and their offsets. */
export const PW = 7;
export const PW_EPOCH = 0;
export const PW_SEQ = 1;
export const PW_TS = 2;
/** Index of the metric in `names`. */
export const PW_METRIC = 3;
export const PW_SCORE = 4;
/** Readings of the metric still to come before the window is complete (≥ 1 while pending). */
export const PW_LEFT = 5;
/** 1: the window of an anomaly that joined the incident an earlier one opened (not an incident's first); else 0. */
export const PW_JOINED = 6;
/** Most anomaly windows a device holds open: a further anomaly completes the oldest at once. */
export const MAX_PENDING_WINDOWS = 4;

/**
 * Appends a pending anomaly window to `s.pending` (creating it), in the `PW_*` layout. Numbers only:
 * one array of unboxed doubles per device, no object or heap number per window; the first window's
 * array is a literal of exactly its 7 numbers (~100 B; an empty array grown by push reserves 16).
 */
export function pushPending(s: DeviceState, epoch: number, seq: number, tsMs: number, metric: number, score: number, left: number, joined: 0 | 1): void {
  if (s.pending === undefined) s.pending = [epoch, seq, tsMs, metric, score, left, joined];
  else s.pending.push(epoch, seq, tsMs, metric, score, left, joined);
}

/** A fresh device state (no metrics: no block). */
export function newDeviceState(id: string): DeviceState {
  return {
    id,
    ...newSeqState(),
    applied: 0,
    duplicates: 0,
    lastStreamSeq: 0,
    online: false,
    lastSeenS: 0,
    names: [],
    f64: EMPTY_F64,
    f32: EMPTY_F32,
    base: 0,
    units: 0,
  };
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
  /**
   * `names` followed by `name`, as a frozen list shared by every actor with the same metrics (a
   * million devices reporting "temp" hold one ["temp"]); unshared once `MAX_NAME_LISTS` exist.
   */
  withName(names: readonly string[], name: string): readonly string[];
}

/** Distinct metric-name lists shared per logic instance (beyond this, each actor holds its own). */
const MAX_NAME_LISTS = 10_000;

export function createModelTable(): ModelTable {
  const models: DetectorModel[] = [];
  const lists = new Map<string, readonly string[]>();
  return {
    withName(names, name) {
      const next = names.concat(name);
      const key = next.join("\u0000");
      const shared = lists.get(key);
      if (shared !== undefined) return shared;
      if (lists.size >= MAX_NAME_LISTS) return next;
      Object.freeze(next);
      lists.set(key, next);
      return next;
    },
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
export function placeMetric(s: DeviceState, table: ModelTable, arena: MetricArena, parts: MetricParts, windowSize: number): void {
  const model = table.intern(parts.params);
  const caps = ringCaps(table.models[model]!, parts.hist.length, parts.dists.length);
  const i = addMetric(s, arena, model, windowSize, caps.h, caps.d);
  s.names = table.withName(s.names, parts.name);
  const f64 = s.f64;
  const o = s.base + i * MH;
  const savedN = parts.window.length;
  const n = Math.min(savedN, windowSize);
  const w = 2 * s.base + f64[o + H_WOFF]!;
  for (let k = 0; k < n; k++) s.f32[w + k] = parts.window[k]!;
  f64[o + H_N] = n;
  f64[o + H_POS] = n === windowSize ? parts.pos % windowSize : n;
  // Saved sums are exact only for a window saved as float32 values (version 2 snapshots of this layout).
  if (n === savedN && parts.sums !== undefined && windowIsF32(parts.window, n)) {
    f64[o + H_SUM] = parts.sums.sum;
    f64[o + H_SQ] = parts.sums.sumSq;
    f64[o + H_SINCE] = parts.sums.since;
  } else {
    recomputeSums(s, i); // window size changed by configuration: rebuild the sums
  }
  // Snapshots before version 7 hold fewer scalars: the slots added since keep initScalars' values.
  const kept = Math.min(SAVED_SCALARS, parts.scalars.length);
  for (let k = 0; k < kept; k++) f64[o + H_DET + k] = parts.scalars[k]!;
  const rings = ringSlots(s, i, parts.hist.length, parts.dists.length);
  rings.hist.set(parts.hist);
  rings.dists.set(parts.dists);
  deriveScalars(parts.params, f64, o + H_DET, s.f32, 2 * s.base + f64[o + H_DOFF]!);
}

/** Whether the first `n` values are float32 values already (stored unchanged, so saved sums hold). */
function windowIsF32(w: ArrayLike<number>, n: number): boolean {
  for (let k = 0; k < n; k++) if (Math.fround(w[k]!) !== w[k]) return false;
  return true;
}
