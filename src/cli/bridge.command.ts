import type { CommandIo } from "./io.js";
import { untilSignal } from "./io.js";
import { loadRoleConfig } from "./load.js";
import { startBridgeRole } from "./roles/bridge-role.js";
import { startRoleStatus } from "./role-status.js";
import { promMetrics } from "../observability/prom-metrics.js";

/**
 * `shoal bridge`: run the MQTT → JetStream bridge until SIGINT/SIGTERM. HTTP status on
 * `grpc.host:grpc.webPort` (`/metrics` with the bridge counters and process metrics such as event-loop
 * lag, `/healthz`, `/readyz`: ready while every MQTT connection is subscribed); a port already taken
 * is logged and the bridge runs on.
 */
export async function run(_argv: string[], io: CommandIo): Promise<number> {
  const ctx = await loadRoleConfig(io, "bridge", { journal: true });
  const bridge = await startBridgeRole(ctx.cfg, ctx.log, { metrics: promMetrics(ctx.registry) });
  const status = await startRoleStatus(ctx, { bridge: () => ({ ...bridge.stats, held: bridge.pending() }) }, {
    degraded: () => bridge.incidents.degradedReason(),
    // Ready once every MQTT connection is subscribed: a rolling update keeps the old bridge until then.
    ready: () => bridge.subscribed() === ctx.cfg.mqtt.connections,
    readyReason: () => `${bridge.subscribed()} of ${ctx.cfg.mqtt.connections} MQTT connections subscribed`,
  });
  const timer = setInterval(() => ctx.log.info({ stats: bridgeCounters(bridge.stats, bridge.pending()) }, "bridge counters"), 10_000);
  await untilSignal();
  clearInterval(timer);
  await status.close();
  await bridge.close();
  await ctx.close();
  return 0;
}

/** The bridge's numeric counters (plus readings held, not yet durable). */
function bridgeCounters(s: { received: number; accepted: number; duplicate: number; rejected: number; publishFailures: number; batches: number }, held: number): Record<string, number> {
  return { received: s.received, accepted: s.accepted, duplicate: s.duplicate, rejected: s.rejected, publishFailures: s.publishFailures, batches: s.batches, held };
}
