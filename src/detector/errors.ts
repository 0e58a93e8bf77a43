import { ShoalError } from "../base/errors.js";

/** Raised when bytes given to `restoreDetector` are not a detector state. Not retryable. */
export class DetectorStateError extends ShoalError {
  override readonly name = "DetectorStateError";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, code: "DETECTOR_STATE_INVALID", retryable: false });
  }
}
