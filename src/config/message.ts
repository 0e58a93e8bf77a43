import type { ResolvedConfig } from "./resolve.js";
import type { ShoalConfig } from "./schema.js";

/**
 * What a role posts to its worker threads, and a worker delivers to its actors, when the
 * configuration changes. Plain data: structured-clone safe. Carries secrets (decrypted):
 * never log it whole.
 */
export interface ConfigChangedMessage {
  readonly type: "config.changed";
  /** Content hash of `config`; actors may ignore a version they already have. */
  readonly version: string;
  readonly config: ShoalConfig;
}

/** Builds the {@link ConfigChangedMessage} for `resolved`. */
export function configChangedMessage(resolved: ResolvedConfig): ConfigChangedMessage {
  return { type: "config.changed", version: resolved.version, config: resolved.config };
}
