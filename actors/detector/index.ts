/** Streaming anomaly detector (pure, no I/O): public surface. */
export { createDetector, restoreDetector } from "./detector.js";
export type { Detector } from "./detector.js";
export { defaultDetectorParams, resolveDetectorParams } from "./params.js";
export type { DetectorParams } from "./params.js";
export { DetectorStateError } from "./errors.js";
