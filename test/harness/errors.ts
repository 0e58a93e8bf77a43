import { ShoalError } from "../../src/base/errors.js";

/**
 * Errors of the integration-test harness. Both are permanent for the run (`retryable: false`):
 * retrying the same start without changing the machine gives the same answer.
 */

/** A service's binary (or a file it needs from its package) is not on this machine. */
export class ServiceMissingError extends ShoalError {
  override readonly name = "ServiceMissingError";
  declare readonly code: "unavailable";
  /** Binary name as installed by its package, e.g. `nats-server`, `consul`. */
  readonly binary: string;
  /**
   * @param binary the missing program, e.g. `clickhouse-server`
   * @param detail optional extra sentence (e.g. a bad `SHOAL_*_BIN` override)
   */
  constructor(binary: string, detail?: string) {
    super(`${binary} not installed: run \`npm run stack -- install\`${detail === undefined ? "" : ` (${detail})`}`, { code: "unavailable", retryable: false });
    this.binary = binary;
  }
}

/** A service was started but exited, or did not become healthy within its timeout. */
export class ServiceStartError extends ShoalError {
  override readonly name = "ServiceStartError";
  declare readonly code: "unavailable";
  /** Service name, e.g. `clickhouse`. */
  readonly service: string;
  constructor(service: string, message: string, opts?: { cause?: unknown }) {
    super(message, { code: "unavailable", retryable: false, cause: opts?.cause });
    this.service = service;
  }
}
