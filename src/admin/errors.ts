import * as grpc from "@grpc/grpc-js";
import { ConnectError, type Code } from "@connectrpc/connect";
import { errorMessage, ShoalError } from "../base/errors.js";

/** A cluster RPC on a process that does not run in cluster mode (FAILED_PRECONDITION). */
export class NotClusteredError extends ShoalError {
  override readonly name = "NotClusteredError";
  constructor(method: string) {
    super(`${method}: not running in cluster mode (this process has no Consul cluster; set consul.url)`, { code: "failed_precondition", retryable: false });
  }
}

/** An RPC this process cannot serve (e.g. runtime stats in a process without a runtime). */
export class NotAvailableError extends ShoalError {
  override readonly name = "NotAvailableError";
  constructor(message: string) {
    super(message, { code: "failed_precondition", retryable: false });
  }
}

/**
 * gRPC status of an admin error: bad arguments (RangeError) → INVALID_ARGUMENT, a method this
 * process cannot serve → FAILED_PRECONDITION, an error that says it is retryable (Consul or NATS
 * down) → UNAVAILABLE, anything else → INTERNAL.
 */
export function statusOf(e: unknown): grpc.status {
  if (e instanceof RangeError) return grpc.status.INVALID_ARGUMENT;
  if (e instanceof NotClusteredError || e instanceof NotAvailableError) return grpc.status.FAILED_PRECONDITION;
  if (typeof e === "object" && e !== null && (e as { retryable?: unknown }).retryable === true) return grpc.status.UNAVAILABLE;
  return grpc.status.INTERNAL;
}

/**
 * The ConnectError an admin handler ends with for `e` (the same code as {@link statusOf}: Connect's
 * codes are gRPC's), its message as is: admin callers are operators, who need the reason.
 */
export function toConnectError(e: unknown): ConnectError {
  if (e instanceof ConnectError) return e;
  return new ConnectError(errorMessage(e), statusOf(e) as number as Code, undefined, undefined, e);
}
