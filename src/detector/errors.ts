/** Raised when bytes given to `restoreDetector` are not a detector state. Not retryable. */
export class DetectorStateError extends Error {
  override readonly name = "DetectorStateError";
  readonly code = "DETECTOR_STATE_INVALID";
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
