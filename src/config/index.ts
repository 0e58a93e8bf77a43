/**
 * Configuration: one zod schema, layered sources (default.yaml < <env>.yaml < Consul < env
 * vars), `enc:` secrets, redaction, and a live watcher. See docs/adr/0004-configuration.md.
 */
export { configSchema, isSecretPath, RENAMED_KEYS, SECRET_KEY_PATTERN } from "./schema.js";
export type { ShoalConfig, ShoalConfigInput } from "./schema.js";
export { ConfigConflictError, ConfigError, formatIssue } from "./errors.js";
export type { ConfigIssue } from "./errors.js";
export { resolveConfig, configVersion, collectLayers, envNameOf, DEFAULT_CONFIG_DIR } from "./resolve.js";
export type { ResolvedConfig, ResolveOptions } from "./resolve.js";
export { loadConfig } from "./load.js";
export type { LoadOptions, ConfigLogger } from "./load.js";
export { createConfigWatcher } from "./watcher.js";
export type { ConfigWatcher, ConfigWatcherOptions, ConfigWatcherStats } from "./watcher.js";
export { createConfigMetrics } from "./metrics.js";
export type { ConfigMetrics } from "./metrics.js";
export { redact, encryptSecret, decryptSecret, parseSecretKey, generateSecretKey, REDACTED, ENC_PREFIX, SECRET_KEY_ENV } from "./secrets.js";
export { parseDuration, parseSize } from "../base/units.js";
export { createConfigStore, configKey, HISTORY_LIMIT } from "./consul-store.js";
export type { ConfigStore, HistoryEntry, StoredDocument } from "./consul-store.js";
export { diffLeaves, changedPaths, flatten } from "./diff.js";
export type { LeafChange } from "./diff.js";
export { configChangedMessage } from "./message.js";
export type { ConfigChangedMessage } from "./message.js";
