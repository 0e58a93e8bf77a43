import { errorMessage, ShoalError } from "../../base/errors.js";

/** Why a Consul request failed. */
export type ConsulFailure = "unavailable" | "conflict" | "rejected" | "aborted";

/**
 * A Consul request failed. `reason`: `unavailable` (network error, timeout or 5xx: retryable),
 * `conflict` (a check-and-set lost a race: retryable after re-reading), `rejected` (4xx such as
 * a missing ACL permission: not retryable) or `aborted` (closed by us).
 */
export class ConsulError extends ShoalError {
  override readonly name = "ConsulError";
  readonly reason: ConsulFailure;
  /** HTTP status when Consul answered. */
  readonly status?: number;

  constructor(message: string, opts: { readonly reason: ConsulFailure; readonly status?: number; readonly cause?: unknown }) {
    const { reason } = opts;
    super(message, {
      code: reason === "rejected" ? "invalid_input" : reason === "aborted" ? "closed" : "unavailable",
      retryable: reason === "unavailable" || reason === "conflict",
      ...(opts.cause !== undefined ? { cause: opts.cause } : {}),
    });
    this.reason = reason;
    if (opts.status !== undefined) this.status = opts.status;
  }
}

/** Maps an error of the `consul` npm client (papi) to a {@link ConsulError}. */
export function toConsulError(err: unknown, what: string): ConsulError {
  if (err instanceof ConsulError) return err;
  const e = err as { name?: string; message?: string; statusCode?: number };
  const status = e?.statusCode;
  // First line only: Consul's error text names keys, never KV values.
  const detail = errorMessage(err).split("\n")[0]!.slice(0, 200);
  if (e?.name === "AbortError" || /request aborted/.test(detail)) return new ConsulError(`${what}: aborted`, { reason: "aborted" });
  if (status === 409) return new ConsulError(`${what}: conflict (${detail})`, { reason: "conflict", status });
  if (status !== undefined && status >= 400 && status < 500) {
    return new ConsulError(`${what}: HTTP ${status} (${detail})`, { reason: "rejected", status });
  }
  return new ConsulError(`${what}: ${detail}`, { reason: "unavailable", ...(status !== undefined ? { status } : {}), cause: err });
}
