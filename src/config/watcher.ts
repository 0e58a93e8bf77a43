import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { join } from "node:path";
import type { Registry } from "prom-client";
import type { KvConnector, KvStore } from "../ports/kv-store.js";
import { configKey } from "./consul-store.js";
import { ConfigError, formatIssue } from "./errors.js";
import { parseYamlLayer } from "./layers.js";
import { createConfigMetrics } from "./metrics.js";
import { changedPaths } from "./diff.js";
import { connectKvOf, loadConfig } from "./load.js";
import type { ConfigLogger } from "./load.js";
import { DEFAULT_CONFIG_DIR, envNameOf, resolveConfig } from "./resolve.js";
import type { ResolveOptions, ResolvedConfig } from "./resolve.js";
import { sleep, systemClock } from "../base/clock.js";
import { backoffMs } from "../base/backoff.js";

/** Options of {@link createConfigWatcher}. */
export interface ConfigWatcherOptions extends Omit<ResolveOptions, "consulLayer" | "consulSource"> {
  /** Structured logger (pino-compatible). Values are never logged, only paths and versions. */
  readonly logger?: ConfigLogger;
  /** Registry for the shoal_config_* metrics; a private one when omitted (never the global). */
  readonly registry?: Registry;
  /** The configuration in use at start (from loadConfig); loaded when omitted. */
  readonly initial?: ResolvedConfig;
  /** Consul KV client; default: one for `consul.url`/`consul.token` of the file+env layers. */
  readonly consul?: KvStore;
  /** Opens the KV store when `consul.url` is set (src/cli wires Consul's). */
  readonly connectKv?: KvConnector;
  /** Blocking-query wait in ms (default 30 000). */
  readonly waitMs?: number;
  /** Retry backoff after a Consul error: first delay and cap, ms (default 250, 10 000). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Watch config/*.yaml for changes; default true when Consul is not configured. */
  readonly watchFiles?: boolean;
  /** Debounce of file events in ms (default 100). */
  readonly fileDebounceMs?: number;
}

/** Counters of the watcher (also exported as Prometheus metrics). */
export interface ConfigWatcherStats {
  applied: number;
  rejected: number;
  consulErrors: number;
}

/**
 * Live configuration: the last good resolved config, and notifications of every valid change.
 * Invalid changes are rejected (logged with the reasons, counted) and the last good config
 * stays. Listeners run synchronously in subscription order; one throwing does not stop others.
 */
export interface ConfigWatcher {
  current(): ResolvedConfig;
  subscribe(listener: (next: ResolvedConfig, prev: ResolvedConfig) => void): () => void;
  stats(): ConfigWatcherStats;
  close(): Promise<void>;
}

/**
 * Starts watching: with `consul.url` configured, a Consul blocking query on
 * `<prefix>/<env>/config.yaml` (retried with jittered exponential backoff while Consul is
 * unreachable); otherwise fs.watch on default.yaml and <env>.yaml. Environment variables are
 * fixed for the life of the process.
 */
export async function createConfigWatcher(opts: ConfigWatcherOptions): Promise<ConfigWatcher> {
  const log = opts.logger ?? silentLogger;
  const metrics = createConfigMetrics(opts.registry);
  const stats: ConfigWatcherStats = { applied: 0, rejected: 0, consulErrors: 0 };
  let current = opts.initial ?? (await loadConfig({ ...opts, ...(opts.consul ? { consul: opts.consul } : {}) }));
  const listeners = new Set<(next: ResolvedConfig, prev: ResolvedConfig) => void>();
  const abort = new AbortController();
  const { name: envName } = envNameOf(opts);
  metrics.info.reset();
  metrics.info.set({ version: current.version }, 1);

  // The Consul connection comes from files + env only: the Consul layer cannot move itself.
  const base = resolveConfig({ ...opts, consulLayer: undefined });
  const consulUrl = base.config.consul.url;
  const key = configKey(base.config.consul.prefix, envName);
  const source = `consul:${key}`;
  let consulText: string | undefined;
  let lastRejected: string | undefined;

  const apply = (why: string) => {
    let next: ResolvedConfig;
    try {
      const layer = consulUrl && consulText !== undefined ? parseYamlLayer(consulText, source).data : undefined;
      next = resolveConfig({ ...opts, consulLayer: layer, consulSource: source });
    } catch (err) {
      // Anything that stops resolution (invalid values, unreadable file) rejects the change;
      // nothing here may throw into a timer or the watch loop.
      const issues = err instanceof ConfigError ? err.issues.map(formatIssue) : [`(root): ${errorSummary(err).message}`];
      const fingerprint = `${consulText ?? ""}\u0000${issues.join("\n")}`;
      if (fingerprint === lastRejected) return;
      lastRejected = fingerprint;
      stats.rejected++;
      metrics.rejected.inc();
      log.warn({ trigger: why, issues, version: current.version }, "configuration change rejected; keeping the last good configuration");
      return;
    }
    lastRejected = undefined;
    if (next.version === current.version) return;
    const prev = current;
    current = next;
    stats.applied++;
    metrics.applied.inc();
    metrics.info.reset();
    metrics.info.set({ version: next.version }, 1);
    metrics.lastApplied.set(Date.now() / 1000);
    log.info({ trigger: why, version: next.version, previous: prev.version, changed: changedPaths(prev.config, next.config) }, "configuration applied");
    for (const l of [...listeners]) {
      try {
        l(next, prev);
      } catch (err) {
        log.error({ err: errorSummary(err) }, "configuration listener failed");
      }
    }
  };

  const tasks: Promise<void>[] = [];
  let fsWatcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let kv: KvStore | undefined;

  if (consulUrl) {
    kv = opts.consul ?? connectKvOf(opts)({ url: consulUrl, ...(base.config.consul.token ? { token: base.config.consul.token } : {}) });
    tasks.push(consulLoop(kv));
  }
  if (opts.watchFiles ?? !consulUrl) {
    const dir = opts.configDir ?? opts.env.SHOAL_CONFIG_DIR ?? DEFAULT_CONFIG_DIR;
    const files = new Set(["default.yaml", `${envName}.yaml`]);
    try {
      fsWatcher = watch(dir, (_event, file) => {
        if (file !== null && !files.has(String(file))) return;
        clearTimeout(debounce);
        debounce = setTimeout(() => apply(`file ${file ?? dir}`), opts.fileDebounceMs ?? 100);
      });
      fsWatcher.on("error", (err) => log.warn({ err: errorSummary(err), dir: join(dir) }, "configuration file watch failed"));
    } catch (err) {
      log.warn({ err: errorSummary(err), dir }, "cannot watch configuration files");
    }
  }

  async function consulLoop(client: KvStore): Promise<void> {
    const waitMs = opts.waitMs ?? 30_000;
    const initialMs = opts.backoff?.initialMs ?? 250;
    const maxMs = opts.backoff?.maxMs ?? 10_000;
    let index = 0;
    let failures = 0;
    while (!abort.signal.aborted) {
      try {
        const r = await client.get(key, { index, waitMs, signal: abort.signal });
        if (failures > 0) log.info({ key, failures }, "consul configuration watch resumed");
        failures = 0;
        // Per Consul's blocking-query rules: an index that goes backwards (e.g. a restored
        // snapshot) resets the watch; an unchanged index is a wait timeout.
        const nextIndex = r.index < index ? 0 : Math.max(r.index, 1);
        const changed = index === 0 || r.index !== index;
        index = nextIndex;
        if (!changed) continue;
        consulText = r.value;
        apply(`consul ${key}@${r.index}`);
      } catch (err) {
        if (abort.signal.aborted) break;
        failures++;
        stats.consulErrors++;
        metrics.consulErrors.inc();
        const delay = backoffMs(Math.min(failures - 1, 16), initialMs, maxMs) * (0.5 + Math.random() / 2);
        log.warn({ key, err: errorSummary(err), failures, retryInMs: Math.round(delay) }, "consul configuration watch failed; keeping the current configuration");
        await pause(delay, abort.signal);
      }
    }
  }

  return {
    current: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stats: () => ({ ...stats }),
    async close() {
      if (abort.signal.aborted) return;
      abort.abort();
      clearTimeout(debounce);
      fsWatcher?.close();
      listeners.clear();
      await Promise.allSettled(tasks);
      if (kv && !opts.consul) kv.close();
    },
  };
}

const silentLogger: ConfigLogger = { info() {}, warn() {}, error() {} };

/** Name, code and message of an error: enough to act on, never a config value. */
function errorSummary(err: unknown): { name: string; code?: string; message: string } {
  const e = err as { name?: string; code?: unknown; message?: string };
  return { name: e?.name ?? "Error", ...(typeof e?.code === "string" ? { code: e.code } : {}), message: e?.message ?? String(err) };
}

/** Wait `ms`, or less when `signal` aborts (then resolves: the loop checks why it woke). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, systemClock, signal).catch(() => {});
}
