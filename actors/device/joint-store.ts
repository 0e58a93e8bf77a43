/**
 * The device-level model of one device actor (src/detector/joint.ts, docs/adr/0022): one
 * Float64Array per device with two or more metrics, grown when a metric appears, fed once per
 * reading with the values of the metrics it carries (absent ones as NaN: the model skips such a
 * reading). Pure; the scratch arrays belong to the logic instance (one worker thread).
 */
import { JOINT_MAX_METRICS, jointSlots, jointUpdate, newJoint } from "../../src/detector/index.js";
import type { JointParams } from "../../src/detector/index.js";
import type { DeviceState } from "./device-state.js";

/** Metrics the joint model of a device with `n` metrics covers (its first ones, in first-seen order). */
export function jointMetrics(n: number): number {
  return n < 2 ? 0 : Math.min(n, JOINT_MAX_METRICS);
}

/** Scratch shared by every device of a logic instance: the reading's values by metric index, and the contributions. */
export interface JointScratch {
  readonly values: Float64Array;
  readonly contrib: Float64Array;
}

export function newJointScratch(): JointScratch {
  return { values: new Float64Array(JOINT_MAX_METRICS), contrib: new Float64Array(JOINT_MAX_METRICS) };
}

/**
 * Feeds the reading whose metric `idx[i]` (index in `state.names`) has value `values[i]` to the
 * device's joint model, created afresh when the device has more metrics than it covers.
 * Returns the joint score in [0, 1] (0 for a device with one metric); `scratch.contrib[m]` then
 * holds metric m's share of it.
 */
export function feedJoint(state: DeviceState, p: JointParams, idx: ArrayLike<number>, values: ArrayLike<number>, n: number, scratch: JointScratch): number {
  const k = jointMetrics(state.names.length);
  if (k === 0) return 0;
  let st = state.joint;
  if (st === undefined || st.length !== jointSlots(k)) {
    st = newJoint(k);
    state.joint = st;
  }
  const v = scratch.values;
  v.fill(Number.NaN, 0, k);
  for (let i = 0; i < n; i++) {
    const m = idx[i]!;
    if (m < k) v[m] = values[i]!;
  }
  scratch.contrib.fill(0, 0, k);
  return jointUpdate(p, st, 0, k, v, scratch.contrib);
}
