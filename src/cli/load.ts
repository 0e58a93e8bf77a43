import { loadConfig, type ShoalConfig } from "../config/index.js";
import { createLogger, type Logger } from "../observability/logger.js";
import type { CommandIo } from "./io.js";

/** Resolve the configuration (files < Consul < env) and a logger for a role. */
export async function loadRoleConfig(io: CommandIo, role: string): Promise<{ cfg: ShoalConfig; log: Logger }> {
  const resolved = await loadConfig({ env: io.env });
  const cfg = resolved.config;
  const log = createLogger({ level: cfg.log.level, name: role });
  log.info({ env: cfg.env, nodeId: cfg.nodeId, configVersion: resolved.version }, "configuration loaded");
  return { cfg, log };
}
