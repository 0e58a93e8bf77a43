import { ShoalError } from "../../src/base/errors.js";

/** Raised when bytes given to the device actor's `restore` are not a device snapshot. Not retryable. */
export class DeviceSnapshotError extends ShoalError {
  override readonly name = "DeviceSnapshotError";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, code: "DEVICE_SNAPSHOT_INVALID", retryable: false });
  }
}
