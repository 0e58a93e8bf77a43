import type { CommandIo } from "./io.js";
import { untilSignal } from "./io.js";
import { loadRoleConfig } from "./load.js";
import { startBridgeRole } from "./roles/bridge-role.js";

/** `shoal bridge`: run the MQTT → JetStream bridge until SIGINT/SIGTERM. */
export async function run(_argv: string[], io: CommandIo): Promise<number> {
  const ctx = await loadRoleConfig(io, "bridge");
  const bridge = await startBridgeRole(ctx.cfg, ctx.log);
  const timer = setInterval(() => ctx.log.info({ stats: bridge.stats, pending: bridge.pending() }, "bridge counters"), 10_000);
  await untilSignal();
  clearInterval(timer);
  await bridge.close();
  await ctx.close();
  return 0;
}
