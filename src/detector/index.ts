/** Streaming anomaly detector (pure, no I/O): public surface. */
export { createDetector, restoreDetector } from "./detector.js";
export type { Detector } from "./detector.js";
export { defaultDetectorParams, resolveDetectorParams, PARAM_KEYS } from "./params.js";
export type { DetectorParams } from "./params.js";
export { DetectorStateError } from "./errors.js";
// Packed form, for hosts that keep many detectors in one buffer (actors/device, ADR 0008).
export { deriveScalars, detectorModel, detectorUpdate, initScalars, ringFill, ringNeeds, S_N, S_TERM, SAVED_SCALARS, SAVED_SCALARS_V2, SCALAR_SLOTS, TERM_DISCORD, TERM_LEVEL, TERM_NONE, TERM_RANGE, TERM_SEASON } from "./kernel.js";
export type { DetectorModel } from "./kernel.js";
export { decodeState as decodeDetectorState } from "./state.js";
export type { DecodedState as DecodedDetectorState } from "./state.js";
// The device-level (joint) model of a device's metrics (docs/adr/0022).
export { initJoint, newJoint, JOINT_MAX_METRICS, jointSlots, jointStateBytes, jointUpdate } from "./joint.js";
export { defaultJointParams, JOINT_PARAM_KEYS, resolveJointParams } from "./joint-params.js";
export type { JointParams } from "./joint-params.js";
