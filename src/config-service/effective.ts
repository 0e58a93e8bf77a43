import { isSecretPath, loadConfig, redact, resolveConfig } from "../config/index.js";
import type { ResolvedConfig } from "../config/index.js";
import { valueAt } from "./document.js";
import { openConfigDocument, resolveOptionsOf } from "./edits.js";
import type { ConfigTarget } from "./edits.js";

/** The effective configuration of a target with the version of its Consul document. */
export interface EffectiveView {
  readonly resolved: ResolvedConfig;
  /** Newest history version of the Consul document (0: none, or no Consul). */
  readonly version: number;
  /** True when Consul is configured (the document can be written). */
  readonly writable: boolean;
}

/** One leaf of the effective configuration, safe to show. */
export interface EffectiveEntry {
  /** Resolved dotted path, e.g. `runtime.snapshotEveryMs`. */
  readonly path: string;
  /** The value as JSON, `"[redacted]"` for secrets. */
  readonly valueJson: string;
  /** The layer: "default", "file:<name>", "consul", "env:<NAME>" (or "argument": the env name given to the process). */
  readonly source: string;
  readonly secret: boolean;
}

/**
 * Resolves the configuration as the target's processes do (files < Consul < environment), with the
 * Consul layer required: an unreachable Consul throws (ConsulError) rather than showing a config
 * without it. Throws ConfigError when the layers do not resolve.
 */
export async function readEffective(t: ConfigTarget): Promise<EffectiveView> {
  const d = openConfigDocument(t);
  if (d === undefined) return { resolved: resolveConfig(resolveOptionsOf(t)), version: 0, writable: false };
  try {
    const resolved = await loadConfig({ ...resolveOptionsOf(t), consul: d.kv, requireConsul: true });
    return { resolved, version: await d.store.latestVersion(), writable: true };
  } finally {
    d.close();
  }
}

/** Every leaf of `r` in schema order with its redacted value and the layer it came from. */
export function effectiveEntries(r: ResolvedConfig): EffectiveEntry[] {
  const safe = redact(r.config, r.encryptedPaths);
  return [...r.sources].map(([path, source]) => ({
    path,
    valueJson: JSON.stringify(valueAt(safe, path)) ?? "null",
    source: sourceLabel(source),
    secret: isSecretPath(path) || [...r.encryptedPaths].some((p) => p === path || p.startsWith(`${path}[`)),
  }));
}

/**
 * The layer name of a resolveConfig source as ConfigService shows it: `schema` (built-in
 * default) -> `default`, `default.yaml` -> `file:default.yaml`, `consul:<key>` -> `consul`;
 * `env:<NAME>` and `argument` stay.
 */
export function sourceLabel(source: string): string {
  if (source === "schema") return "default";
  if (source.startsWith("consul:")) return "consul";
  if (source.endsWith(".yaml") && !source.includes(":")) return `file:${source}`;
  return source;
}
