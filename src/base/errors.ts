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

/** The one constructor shape of Shoal's errors: `new XError(message, options)`. */
export interface ShoalErrorOptions {
  /** Stable machine-readable code (an {@link ErrorCode} or a module's own, e.g. "worker_crashed"). */
  readonly code?: string;
  /** May the same operation succeed if tried again? Default false. */
  readonly retryable?: boolean;
  /** The error this one wraps (a vendor error, usually). */
  readonly cause?: unknown;
}

/**
 * The root of Shoal's named errors (runtime, gateway, config, storage, ...): `code` is stable,
 * `retryable` decides redeliver (nak) vs dead-letter for journal messages, `cause` keeps the vendor
 * error. Every subclass takes `(message, options)` (or fixes what its name implies).
 */
export class ShoalError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(message: string, opts: ShoalErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "ShoalError";
    this.code = opts.code ?? "internal";
    this.retryable = opts.retryable ?? false;
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

/** The message of anything thrown: an error's (or error-like object's) `message`, else `String(e)`. */
export function errorMessage(e: unknown): string {
  const m = typeof e === "object" && e !== null ? (e as { message?: unknown }).message : undefined;
  return typeof m === "string" ? m : String(e);
}

/** `Name: message` of an error and of each of its causes, at most `depth` deep ("Error: " left out). */
export function describeError(e: unknown, depth = 5): string {
  const parts: string[] = [];
  for (let c: unknown = e, d = 0; c !== undefined && c !== null && d < depth; d++) {
    const err = c as Error;
    parts.push(c instanceof Error ? `${err.name === "Error" ? "" : `${err.name}: `}${err.message}` : String(c));
    c = c instanceof Error ? err.cause : undefined;
  }
  return parts.join(" (cause: ") + ")".repeat(Math.max(0, parts.length - 1));
}
