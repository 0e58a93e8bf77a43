import { errorMessage, ShoalError } from "../../base/errors.js";

/** Why a vector store operation failed. */
export type VectorFailure = "invalid" | "missing_collection" | "unavailable" | "timeout" | "closed";

const CODES: Readonly<Record<VectorFailure, string>> = {
  invalid: "invalid_input",
  missing_collection: "invalid_input",
  unavailable: "storage_unavailable",
  timeout: "timeout",
  closed: "closed",
};

/**
 * A vector store (embedded LanceDB or Weaviate) refused or failed an operation. `reason`:
 * `invalid` (bad object, vector or filter: retrying the same call fails again), `missing_collection`
 * (ensureCollection was not called), `unavailable` (I/O error, server down, 5xx: retryable),
 * `timeout` (no answer in time: retryable) or `closed` (the store was closed).
 */
export class VectorStoreError extends ShoalError {
  override readonly name = "VectorStoreError";
  readonly reason: VectorFailure;
  /** HTTP status when a server answered (Weaviate). */
  readonly status?: number;

  constructor(message: string, opts: { readonly reason: VectorFailure; readonly status?: number; readonly cause?: unknown }) {
    super(message, {
      code: CODES[opts.reason],
      retryable: opts.reason === "unavailable" || opts.reason === "timeout",
      ...(opts.cause !== undefined ? { cause: opts.cause } : {}),
    });
    this.reason = opts.reason;
    if (opts.status !== undefined) this.status = opts.status;
  }
}

/** A bad argument: not retryable. */
export function invalid(message: string): VectorStoreError {
  return new VectorStoreError(message, { reason: "invalid" });
}

/**
 * Maps an error of the embedded store (LanceDB's native layer: I/O, commit conflicts, SQL it
 * could not parse) to a {@link VectorStoreError}. Filter and schema errors are not retryable;
 * anything else (I/O, a commit that lost a race) is.
 */
export function toEmbeddedError(err: unknown, what: string): VectorStoreError {
  if (err instanceof VectorStoreError) return err;
  const msg = errorMessage(err).split("\n")[0]!.slice(0, 300);
  const rejected = /invalid (user )?input|schema|parse|not found in|no field named|type mismatch|cannot cast|sql/i.test(msg);
  return new VectorStoreError(`${what}: ${msg}`, { reason: rejected ? "invalid" : "unavailable", cause: err });
}
