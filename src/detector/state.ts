/**
 * Byte layout of a detector's state (`saveState` / `restoreDetector`): a float64 header (magic,
 * version, reserved, the parameters in `PARAM_KEYS` order, `NUM_SCALARS` scalar slots), then the
 * float32 history ring and the float32 ring of recent distances. Pure: no I/O.
 *
 * Version 2 added the range-novelty and seasonal-discord parameters (the last seven of
 * `PARAM_KEYS`) and six scalar slots (the range seen so far, the step clock, the seasonal
 * likelihood). Version-1 states still restore: the new parameters take their defaults, the range is
 * rebuilt from the history ring and the seasonal term learns afresh.
 */
import { resolveDetectorParams, defaultDetectorParams, PARAM_KEYS } from "./params.js";
import type { DetectorParams } from "./params.js";
import { DetectorStateError } from "./errors.js";

const MAGIC = 0x5348_4454; // "SHDT"
/** Version written by `encodeState`. */
export const STATE_VERSION = 2;
/** Scalar slots in the header of the current version (some reserved for later versions). */
export const NUM_SCALARS = 24;
/** Parameters stored by each version: version 1 predates the last seven. */
const PARAMS_IN = { 1: PARAM_KEYS.length - 7, 2: PARAM_KEYS.length } as const;
/** Scalar slots of each version. */
const SCALARS_IN = { 1: 18, 2: NUM_SCALARS } as const;
/** Scalar slots of the range seen so far (version 2). */
const RANGE_MIN = 15;
const RANGE_MAX = 16;
/** Scalar slot of the previous step's time (version 2). */
const LAST_TS = 17;

/** Offsets (bytes) of the parts of a state. */
export interface StateLayout {
  /** Header length in float64 slots. */
  readonly header: number;
  readonly histOff: number;
  readonly distOff: number;
  readonly total: number;
}

/** The layout of a state for the given parameters and version. */
export function stateLayout(p: DetectorParams, version: 1 | 2 = STATE_VERSION): StateLayout {
  const header = 3 + PARAMS_IN[version] + SCALARS_IN[version];
  const histOff = header * 8;
  const distOff = histOff + p.historyLength * 4;
  return { header, histOff, distOff, total: distOff + p.distanceMemory * 4 };
}

/** A decoded state: what `build` needs to continue exactly where the saved detector stopped. */
export interface DecodedState {
  readonly params: DetectorParams;
  /** `NUM_SCALARS` slots, in the order `encodeState` was given them (missing ones 0). */
  readonly scalars: Float64Array;
  readonly hist: Float32Array;
  readonly dists: Float32Array;
}

/** Serialises parameters, scalars (at most `NUM_SCALARS`) and the two rings. */
export function encodeState(p: DetectorParams, scalars: ArrayLike<number>, hist: Float32Array, dists: Float32Array): Uint8Array {
  const { header, histOff, distOff, total } = stateLayout(p);
  const bytes = new Uint8Array(total);
  const head = new Float64Array(bytes.buffer, 0, header);
  head[0] = MAGIC;
  head[1] = STATE_VERSION;
  PARAM_KEYS.forEach((k, i) => (head[3 + i] = p[k]));
  head.set(scalars, 3 + PARAM_KEYS.length);
  new Float32Array(bytes.buffer, histOff, p.historyLength).set(hist);
  new Float32Array(bytes.buffer, distOff, p.distanceMemory).set(dists);
  return bytes;
}

/**
 * Parses `encodeState` bytes (version 1 or 2).
 * @throws DetectorStateError naming what is wrong (size, magic/version, parameters).
 */
export function decodeState(bytes: Uint8Array): DecodedState {
  const minHeader = stateLayout(defaultDetectorParams, 1).header * 8;
  if (bytes.byteLength < minHeader) throw new DetectorStateError(`detector state must be at least ${minHeader} bytes, got ${bytes.byteLength}`);
  const copy = new Uint8Array(bytes); // aligned private copy
  const pre = new Float64Array(copy.buffer, 0, 3);
  const version = pre[1];
  if (pre[0] !== MAGIC || (version !== 1 && version !== 2)) {
    throw new DetectorStateError(`detector state has magic ${pre[0]} version ${pre[1]}, expected ${MAGIC} version 1 or ${STATE_VERSION}`);
  }
  const count = PARAMS_IN[version];
  const head = new Float64Array(copy.buffer, 0, 3 + count);
  const raw: Record<string, number> = {};
  PARAM_KEYS.slice(0, count).forEach((k, i) => (raw[k] = head[3 + i]!));
  let params: DetectorParams;
  try {
    params = resolveDetectorParams(raw as Partial<DetectorParams>);
  } catch (err) {
    throw new DetectorStateError("detector state holds invalid parameters", { cause: err });
  }
  const { header, histOff, distOff, total } = stateLayout(params, version);
  if (copy.byteLength !== total) throw new DetectorStateError(`detector state must be ${total} bytes for its parameters, got ${copy.byteLength}`);
  const scalars = new Float64Array(NUM_SCALARS);
  scalars.set(new Float64Array(copy.buffer, (3 + count) * 8, header - 3 - count));
  const hist = new Float32Array(copy.buffer, histOff, params.historyLength);
  const dists = new Float32Array(copy.buffer, distOff, params.distanceMemory);
  if (version === 1) {
    // Version 1 kept no range: rebuild it from the downsampled history (slot 6 = steps seen).
    const filled = Math.min(scalars[6]!, params.historyLength);
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < filled; i++) {
      if (hist[i]! < min) min = hist[i]!;
      if (hist[i]! > max) max = hist[i]!;
    }
    scalars[RANGE_MIN] = min;
    scalars[RANGE_MAX] = max;
    scalars[LAST_TS] = Number.NaN; // no step clock yet (the seasonal slots stay 0: learn afresh)
  }
  return { params, scalars, hist, dists };
}
