/** Stable machine-readable error codes shared across modules. */
export type ErrorCode =
  | "invalid_input"
  | "unavailable"
  | "timeout"
  | "storage_rejected"
  | "storage_unavailable"
  | "config_invalid"
  | "internal"
  | "worker_crashed"
  | "closed";

/**
 * Base of Shoal's named errors: `code` is stable, `retryable` decides redeliver (nak) vs
 * dead-letter (term) for journal messages, `cause` keeps the vendor error.
 */
export class ShoalError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(message: string, opts: { code: ErrorCode; retryable: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "ShoalError";
    this.code = opts.code;
    this.retryable = opts.retryable;
  }
}

/** True when an error says it may succeed if tried again. Unknown errors are treated as retryable. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ShoalError) return err.retryable;
  if (typeof err === "object" && err !== null && "retryable" in err) return Boolean((err as { retryable: unknown }).retryable);
  return true;
}

/** Plain-object form for crossing threads or processes. */
export interface SerializedError {
  name: string;
  code: string;
  message: string;
  stack?: string;
  retryable: boolean;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, code: typeof code === "string" ? code : "internal", message: err.message, stack: err.stack, retryable: isRetryable(err) };
  }
  return { name: "Error", code: "internal", message: String(err), retryable: true };
}
