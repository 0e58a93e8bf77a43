import { connectNats } from "../adapters/nats/connection.js";
import type { CommandIo } from "./io.js";
import { untilSignal } from "./io.js";
import { loadRoleConfig } from "./load.js";
import { startAlertsRole } from "./roles/alerts-role.js";

/**
 * `shoal alerts`: the alert relay (row log → SHOAL_ALERTS) and the notifier (silences, storm
 * control, signed webhooks; one per cluster through a Consul session when `consul.url` is set)
 * until SIGINT/SIGTERM. The rules themselves run in the device actors (`shoal runtime`).
 */
export async function run(_argv: string[], io: CommandIo): Promise<number> {
  const ctx = await loadRoleConfig(io, "alerts");
  const { cfg, log } = ctx;
  const nc = await connectNats(cfg.nats.url, `shoal-alerts-${cfg.nodeId}`);
  const role = await startAlertsRole(cfg, log, { nc });
  io.stdout(`shoal alerts running (webhooks: ${cfg.alerts.webhooks.map((w) => w.name).join(", ") || "none"}; storm control above ${cfg.alerts.storm.maxPerMinute}/min)\n`);
  await untilSignal();
  await role.close();
  await nc.drain();
  await ctx.close();
  return 0;
}
