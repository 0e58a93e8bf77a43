import { connectNats } from "../adapters/nats/connection.js";
import type { CommandIo } from "./io.js";
import { startRoleStatus } from "./role-status.js";
import { untilSignal } from "./io.js";
import { loadRoleConfig } from "./load.js";
import { startAlertsRole } from "./roles/alerts-role.js";
import { OPS_OPTIONS, OPS_USAGE, runAlertOp } from "./alerts-ops.js";
import { parseSubcommand } from "./subcommand.js";

const USAGE = `usage: shoal alerts               run the alert relay and notifier until SIGINT/SIGTERM
       shoal alerts <command> ...   operate on alerts
${OPS_USAGE}
`;

/**
 * `shoal alerts`: the alert relay (row log → SHOAL_ALERTS) and the notifier (silences, storm
 * control, signed webhooks; one per cluster through a Consul session when `consul.url` is set)
 * until SIGINT/SIGTERM. The rules themselves run in the device actors (`shoal runtime`).
 * `shoal alerts <command>`: list, show, ack, resolve, silence as a client of the AlertService.
 */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  if (argv.length > 0) {
    const parsed = parseSubcommand(argv, io, USAGE, OPS_OPTIONS);
    if (typeof parsed === "number") return parsed;
    return runAlertOp(parsed.cmd, parsed.args, parsed.values, io);
  }
  const ctx = await loadRoleConfig(io, "alerts");
  const { cfg, log } = ctx;
  const nc = await connectNats(cfg.nats, `shoal-alerts-${cfg.nodeId}`);
  const role = await startAlertsRole(cfg, log, { nc });
  const status = await startRoleStatus(ctx, { alerts: () => role.stats() });
  io.stdout(`shoal alerts running (webhooks: ${cfg.alerts.webhooks.map((w) => w.name).join(", ") || "none"}; storm control above ${cfg.alerts.storm.maxPerMinute}/min)\n`);
  await untilSignal();
  await status.close();
  await role.close();
  await nc.drain();
  await ctx.close();
  return 0;
}
