/**
 * Byte layout of a detector's state (`saveState` / `restoreDetector`): a float64 header (magic,
 * version, reserved, the parameters in `PARAM_KEYS` order, `NUM_SCALARS` scalar slots), then the
 * float32 history ring and the float32 ring of recent distances. Pure: no I/O.
 *
 * Version 2 added the range-novelty and seasonal-discord parameters (the last seven of
 * `PARAM_KEYS`) and six scalar slots (the range seen so far, the step clock, the seasonal
 * likelihood). Version-1 states still restore: the new parameters take their defaults, the range is
 * rebuilt from the history ring and the seasonal term learns afresh.
 *
 * Version 3 added the drift gate of range novelty: twelve parameters (the last twelve of `PARAM_KEYS`)
 * and eleven scalar slots (22..32, kernel.ts). Version-2 states restore with the new parameters at
 * their defaults and the new slots at 0: the gate learns afresh, as on a new detector (for its
 * first `driftHold` readings only readings far from its level are range-novel).
 */
import { resolveDetectorParams, defaultDetectorParams, PARAM_KEYS } from "./params.js";
import type { DetectorParams } from "./params.js";
import { DetectorStateError } from "./errors.js";

const MAGIC = 0x5348_4454; // "SHDT"
/** Version written by `encodeState`. */
export const STATE_VERSION = 3;
/** Scalar slots in the header of the current version (kernel.ts SAVED_SCALARS). */
export const NUM_SCALARS = 33;
type Version = 1 | 2 | 3;
/** Parameters stored by each version: version 2 predates the last twelve, version 1 the last nineteen. */
const PARAMS_IN = { 1: PARAM_KEYS.length - 19, 2: PARAM_KEYS.length - 12, 3: PARAM_KEYS.length } as const;
/** Scalar slots of each version (version 2 used 22 of its 24; the other two were always 0). */
const SCALARS_IN = { 1: 18, 2: 24, 3: NUM_SCALARS } as const;
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
export function stateLayout(p: DetectorParams, version: Version = STATE_VERSION): StateLayout {
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
 * Parses `encodeState` bytes (version 1, 2 or 3).
 * @throws DetectorStateError naming what is wrong (size, magic/version, parameters).
 */
export function decodeState(bytes: Uint8Array): DecodedState {
  const minHeader = stateLayout(defaultDetectorParams, 1).header * 8;
  if (bytes.byteLength < minHeader) throw new DetectorStateError(`detector state must be at least ${minHeader} bytes, got ${bytes.byteLength}`);
  const copy = new Uint8Array(bytes); // aligned private copy
  const pre = new Float64Array(copy.buffer, 0, 3);
  const version = pre[1];
  if (pre[0] !== MAGIC || (version !== 1 && version !== 2 && version !== 3)) {
    throw new DetectorStateError(`detector state has magic ${pre[0]} version ${pre[1]}, expected ${MAGIC} version 1 to ${STATE_VERSION}`);
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
  // Slots a version did not have stay 0, which is how initScalars starts them (the drift gate's).
  const scalars = new Float64Array(NUM_SCALARS);
  scalars.set(new Float64Array(copy.buffer, (3 + count) * 8, Math.min(header - 3 - count, version === 2 ? 22 : NUM_SCALARS)));
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
