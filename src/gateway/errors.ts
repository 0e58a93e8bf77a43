/**
 * Errors of the model gateway. Every error has a stable `code`, a `retryable` flag (may the same
 * call succeed if tried again later?) and an optional `retryAfterMs` hint from the upstream.
 * Provider adapters map vendor errors to these at their boundary.
 */

/** Stable error codes of the gateway (also used as `degraded_reason` and metric labels). */
export type GatewayErrorCode =
  | "rate_limited"
  | "upstream"
  | "timeout"
  | "deadline_exceeded"
  | "circuit_open"
  | "budget_exhausted"
  | "overloaded"
  | "invalid_request"
  | "invalid_output"
  | "auth"
  | "unavailable"
  | "internal";

import { errorMessage, ShoalError } from "../base/errors.js";

export interface GatewayErrorOptions {
  readonly cause?: unknown;
  readonly retryAfterMs?: number;
  /** HTTP status of the upstream response, when there was one. */
  readonly status?: number;
}

/** Base class of all gateway errors. */
export class GatewayError extends ShoalError {
  override readonly name: string = "GatewayError";
  declare readonly code: GatewayErrorCode;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  constructor(message: string, opts: GatewayErrorOptions & { readonly code: GatewayErrorCode; readonly retryable: boolean }) {
    super(message, opts);
    this.retryAfterMs = opts.retryAfterMs;
    this.status = opts.status;
  }
}

/** The upstream answered 429; retry after `retryAfterMs` when given. */
export class RateLimitedError extends GatewayError {
  override readonly name = "RateLimitedError";
  constructor(message: string, opts: GatewayErrorOptions = {}) {
    super(message, { ...opts, code: "rate_limited", retryable: true });
  }
}

/** The upstream failed (5xx, connection reset). Retryable. */
export class UpstreamError extends GatewayError {
  override readonly name = "UpstreamError";
  constructor(message: string, opts: GatewayErrorOptions = {}) {
    super(message, { ...opts, code: "upstream", retryable: true });
  }
}

/** One upstream attempt took longer than its timeout. Retryable. */
export class UpstreamTimeoutError extends GatewayError {
  override readonly name = "UpstreamTimeoutError";
  constructor(message: string, opts: GatewayErrorOptions = {}) {
    super(message, { ...opts, code: "timeout", retryable: true });
  }
}

/** The caller's deadline passed (or would pass before the next attempt). Not retryable. */
export class DeadlineExceededError extends GatewayError {
  override readonly name = "DeadlineExceededError";
  constructor(message = "deadline exceeded", opts: GatewayErrorOptions = {}) {
    super(message, { ...opts, code: "deadline_exceeded", retryable: false });
  }
}

/** The provider's circuit breaker is open: calls fail fast until it half-opens. */
export class CircuitOpenError extends GatewayError {
  override readonly name = "CircuitOpenError";
  constructor(provider: string, retryAfterMs: number) {
    super(`circuit breaker of ${provider} is open`, { code: "circuit_open", retryable: true, retryAfterMs });
  }
}

/** The LLM budget of the current period is spent. */
export class BudgetExhaustedError extends GatewayError {
  override readonly name = "BudgetExhaustedError";
  constructor(message: string, opts: GatewayErrorOptions = {}) {
    super(message, { ...opts, code: "budget_exhausted", retryable: false });
  }
}

/** A bounded queue (rate limit wait, concurrency cap, client in-flight) is full. */
export class OverloadedError extends GatewayError {
  override readonly name = "OverloadedError";
  constructor(message: string, opts: GatewayErrorOptions = {}) {
    super(message, { ...opts, code: "overloaded", retryable: true });
  }
}

/** The request is malformed; the message names the field and the rule. */
export class InvalidRequestError extends GatewayError {
  override readonly name = "InvalidRequestError";
  constructor(message: string, opts: GatewayErrorOptions = {}) {
    super(message, { ...opts, code: "invalid_request", retryable: false });
  }
}

/** The model answered, but not in the required shape (e.g. JSON not matching the schema). */
export class InvalidOutputError extends GatewayError {
  override readonly name = "InvalidOutputError";
  constructor(message: string, opts: GatewayErrorOptions = {}) {
    super(message, { ...opts, code: "invalid_output", retryable: false });
  }
}

/** Credentials rejected (401/403). Not retryable; never includes the key. */
export class AuthError extends GatewayError {
  override readonly name = "AuthError";
  constructor(message: string, opts: GatewayErrorOptions = {}) {
    super(message, { ...opts, code: "auth", retryable: false });
  }
}

/** Wrap anything thrown into a GatewayError (unknown errors are `internal`, not retryable). */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const message = errorMessage(err);
  return new GatewayError(message, { code: "internal", retryable: false, cause: err });
}
