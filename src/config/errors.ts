import { ShoalError } from "../base/errors.js";

/** One configuration problem: where, which rule, and which layer supplied the value. */
export interface ConfigIssue {
  /** Dotted input path (`nats.partitions`, `detector.params.k`), or `(root)`. */
  readonly path: string;
  /** The rule that failed, e.g. `must be <= 1024`. Never contains a secret value. */
  readonly rule: string;
  /** Layer that supplied the offending value, e.g. `dev.yaml` or `env:SHOAL__NATS__URL`. */
  readonly source?: string;
}

/** Formats one issue as `<path>: <rule>` plus ` (from <source>)` when the source is known. */
export function formatIssue(issue: ConfigIssue): string {
  return `${issue.path}: ${issue.rule}${issue.source ? ` (from ${issue.source})` : ""}`;
}

/**
 * The configuration is invalid. Not retryable: the same input fails the same way.
 * The message lists every issue, one per line, as `<dotted.path>: <rule> (from <source>)`;
 * it never contains configuration values of secret keys.
 */
export class ConfigError extends ShoalError {
  override readonly name = "ConfigError";
  declare readonly code: "config_invalid";
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(`invalid configuration:\n${issues.map((i) => `  ${formatIssue(i)}`).join("\n")}`, {
      code: "config_invalid",
      retryable: false,
    });
    this.issues = issues;
  }
}

/** A configuration key changed while it was being edited (check-and-set lost): re-read and retry. */
export class ConfigConflictError extends ShoalError {
  override readonly name = "ConfigConflictError";
  readonly reason = "conflict";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: "unavailable", retryable: true, ...options });
  }
}
