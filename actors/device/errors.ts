/** Raised when bytes given to the device actor's `restore` are not a device snapshot. Not retryable. */
export class DeviceSnapshotError extends Error {
  override readonly name = "DeviceSnapshotError";
  readonly code = "DEVICE_SNAPSHOT_INVALID";
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
