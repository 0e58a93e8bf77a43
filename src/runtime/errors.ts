import { ShoalError, type ShoalErrorOptions } from "../base/errors.js";

/** Base of runtime errors: a stable `code` and an explicit `retryable` flag (nak vs dead-letter). */
export class RuntimeError extends ShoalError {
  override readonly name: string = "RuntimeError";
  constructor(message: string, options: ShoalErrorOptions & { readonly code: string; readonly retryable: boolean }) {
    super(message, options);
  }
}

/**
 * A worker thread died while it held a request that cannot simply be run again. Batches are re-run
 * by the host after recovery; a batch that killed `maxAttempts` workers is rejected with
 * `retryable: false` (dead-letter it). Nothing of a rejected batch is kept in actor state.
 */
export class WorkerCrashedError extends RuntimeError {
  override readonly name = "WorkerCrashedError";
  constructor(
    readonly worker: number,
    readonly partitions: readonly number[],
    retryable = true,
    options?: { cause?: unknown },
  ) {
    super(`worker ${worker} died (partitions ${partitions.join(",") || "none"})${retryable ? "" : " repeatedly on this batch"}`, { code: "worker_crashed", retryable: retryable, ...options });
  }
}

/** Internal: a worker died holding several partitions' batches at once; the host re-runs each alone. */
export class CombinedRequestCrashedError extends RuntimeError {
  override readonly name = "CombinedRequestCrashedError";
  constructor(readonly worker: number) {
    super(`worker ${worker} died holding several partitions' batches`, { code: "worker_crashed", retryable: true });
  }
}

/** The host is closing or closed; retryable on another host / after restart. */
export class HostClosedError extends RuntimeError {
  override readonly name = "HostClosedError";
  constructor() {
    super("actor host is closed", { code: "host_closed", retryable: true });
  }
}

/** Recovery of a partition failed (journal or snapshot store unavailable); retry later. */
export class RecoveryError extends RuntimeError {
  override readonly name = "RecoveryError";
  constructor(partition: number, options?: { cause?: unknown }) {
    super(`recovery of partition ${partition} failed`, { code: "recovery_failed", retryable: true, ...options });
  }
}

/** Invalid runtime options: names the field and the rule. Not retryable. */
export class RuntimeOptionsError extends RuntimeError {
  override readonly name = "RuntimeOptionsError";
  constructor(message: string) {
    super(message, { code: "invalid_options", retryable: false });
  }
}

/** An error as it crosses a thread boundary. */
export interface WireError {
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly stack?: string;
  readonly retryable: boolean;
}

/** Flatten any thrown value for postMessage. */
export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; retryable?: unknown };
    return {
      name: e.name,
      code: typeof e.code === "string" ? e.code : "error",
      message: e.message,
      stack: e.stack,
      retryable: e.retryable === true,
    };
  }
  return { name: "Error", code: "error", message: String(err), retryable: false };
}

/** Rebuild an error sent with `toWireError`. */
export function fromWireError(w: WireError): RuntimeError {
  const err = new RuntimeError(w.message, { code: w.code, retryable: w.retryable });
  Object.defineProperty(err, "name", { value: w.name });
  if (w.stack !== undefined) err.stack = w.stack;
  return err;
}

/** Options check: throws RuntimeOptionsError naming the field. */
export function checkInt(field: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RuntimeOptionsError(`${field} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}
