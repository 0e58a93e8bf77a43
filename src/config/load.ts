import type { KvConnector, KvStore } from "../ports/kv-store.js";
import { ShoalError, isRetryable } from "../base/errors.js";
import { configKey } from "./consul-store.js";
import { parseYamlLayer } from "./layers.js";
import { envNameOf, resolveConfig } from "./resolve.js";
import type { ResolveOptions, ResolvedConfig } from "./resolve.js";

/** The logging the configuration code does: pino-compatible `(fields, message)`. */
export interface ConfigLogger {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/** Options of {@link loadConfig}. */
export interface LoadOptions extends Omit<ResolveOptions, "consulLayer" | "consulSource"> {
  /** Consul KV client to read from; default: `connectKv` to `consul.url` of the file+env layers. */
  readonly consul?: KvStore;
  /** Opens the KV store when `consul.url` is set (src/cli wires Consul's). */
  readonly connectKv?: KvConnector;
  /**
   * When Consul is configured but unreachable: `false` (default) starts on files + env and
   * logs a warning (the watcher applies the Consul layer once Consul answers); `true` throws.
   */
  readonly requireConsul?: boolean;
  readonly logger?: ConfigLogger;
}

/**
 * Resolves the configuration including the Consul layer when `consul.url` is set by the files
 * or environment. An invalid Consul document throws ConfigError (at start there is no last good
 * configuration to keep); so does a Consul that refuses the read (wrong or missing `consul.token`),
 * while an unreachable one starts on files + env (see `requireConsul`).
 */
export async function loadConfig(opts: LoadOptions): Promise<ResolvedConfig> {
  const base = resolveConfig({ ...opts, consulLayer: undefined });
  const { url, token, prefix } = base.config.consul;
  if (!url) return base;
  const key = configKey(prefix, envNameOf(opts).name);
  const kv = opts.consul ?? connectKvOf(opts)({ url, ...(token ? { token } : {}) });
  try {
    let text: string | undefined;
    try {
      text = (await kv.get(key)).value;
    } catch (err) {
      if (opts.requireConsul) throw err;
      // Consul answered and refused (403 without a valid consul.token, 400): not an outage to ride
      // out on defaults — starting on files alone would hide the wrong credentials.
      if (!isRetryable(err)) {
        throw new ShoalError(`Consul at ${url} refused to read ${key} (consul.token missing or not allowed to read it?): ${(err as Error).message}`, { code: "invalid_input", retryable: false, cause: err });
      }
      const e = err as { code?: string; message?: string };
      opts.logger?.warn({ key, err: { code: e.code, message: e.message } }, "consul unreachable at start: using files and environment only");
      return base;
    }
    if (text === undefined) return base;
    const source = `consul:${key}`;
    return resolveConfig({ ...opts, consulLayer: parseYamlLayer(text, source).data, consulSource: source });
  } finally {
    if (!opts.consul) kv.close();
  }
}

/** The connector of `opts` (a Consul URL in the configuration needs one). */
export function connectKvOf(opts: { readonly connectKv?: KvConnector }): KvConnector {
  if (opts.connectKv === undefined) throw new Error("consul.url is set but no KV connector was given (a wiring error in src/cli)");
  return opts.connectKv;
}
