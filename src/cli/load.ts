import { createConsulKv } from "../adapters/consul/index.js";
import { Registry } from "prom-client";
import { createConfigWatcher, loadConfig, type ConfigWatcher, type ShoalConfig } from "../config/index.js";
import { createLogger, type Logger } from "../observability/logger.js";
import { registerRole } from "./service-registration.js";
import { loadConfigFollowingJournal } from "./journal-partitions.js";
import type { CommandIo } from "./io.js";

/** Configuration, logger, live config watcher and Consul registration of a role process. */
export interface RoleContext {
  cfg: ShoalConfig;
  log: Logger;
  watcher: ConfigWatcher;
  registry: Registry;
  /** Deregister from Consul and stop watching configuration. */
  close(): Promise<void>;
}

/**
 * Resolve the configuration (files < Consul < env), start watching it (Consul blocking queries, or
 * the files without Consul), and register the role in Consul with a TTL health check. `journal`:
 * the role works on the readings journal, so a `nats.partitions` the deployment did not set follows
 * the journal's own count (see followJournalPartitions).
 */
export async function loadRoleConfig(io: CommandIo, role: string, opts: { port?: number; journal?: boolean } = {}): Promise<RoleContext> {
  const boot = createLogger({ level: io.env.SHOAL__LOG__LEVEL ?? "info", name: role });
  const load = { connectKv: createConsulKv, env: io.env, logger: boot };
  const { resolved, env } = opts.journal === true ? await loadConfigFollowingJournal(load) : { resolved: await loadConfig(load), env: io.env };
  const cfg = resolved.config;
  const log = createLogger({ level: cfg.log.level, name: role });
  log.info({ env: cfg.env, nodeId: cfg.nodeId, configVersion: resolved.version }, "configuration loaded");
  const registry = new Registry();
  const watcher = await createConfigWatcher({ connectKv: createConsulKv, env, logger: log, registry, initial: resolved });
  const registration = await registerRole(cfg, role, { ...opts, onError: (e) => log.warn({ err: (e as Error).message }, "consul registration error") }).catch((e: Error) => {
    log.warn({ err: e.message }, "consul registration failed; running unregistered");
    return { close: async () => {} };
  });
  return {
    cfg,
    log,
    watcher,
    registry,
    async close() {
      await registration.close().catch(() => {});
      await watcher.close();
    },
  };
}
