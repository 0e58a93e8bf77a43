/**
 * Errors of the integration-test harness. Both are permanent for the run (`retryable: false`):
 * retrying the same start without changing the machine gives the same answer.
 */

/** A service's binary (or a file it needs from its package) is not on this machine. */
export class ServiceMissingError extends Error {
  override readonly name = "ServiceMissingError";
  readonly code = "unavailable";
  readonly retryable = false;
  /** Binary name as installed by its package, e.g. `nats-server`, `consul`. */
  readonly binary: string;
  /**
   * @param binary the missing program, e.g. `clickhouse-server`
   * @param detail optional extra sentence (e.g. a bad `SHOAL_*_BIN` override)
   */
  constructor(binary: string, detail?: string) {
    super(`${binary} not installed: run \`npm run stack -- install\`${detail === undefined ? "" : ` (${detail})`}`);
    this.binary = binary;
  }
}

/** A service was started but exited, or did not become healthy within its timeout. */
export class ServiceStartError extends Error {
  override readonly name = "ServiceStartError";
  readonly code = "unavailable";
  readonly retryable = false;
  /** Service name, e.g. `clickhouse`. */
  readonly service: string;
  constructor(service: string, message: string, opts?: { cause?: unknown }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.service = service;
  }
}
