import { connectNats } from "../adapters/nats/connection.js";
import { migrate } from "../adapters/clickhouse/index.js";
import { startRoleStatus } from "./role-status.js";
import { createGatewayClient } from "../gateway/index.js";
import type { CommandIo } from "./io.js";
import { untilSignal } from "./io.js";
import { loadRoleConfig } from "./load.js";
import { startQueryRole } from "./roles/query-role.js";
import { configWebService, startConsoleRole } from "./roles/console-role.js";
import { openVectorStore, startVectorIndexer } from "./roles/vector-store.js";
import { roleIncidents } from "./roles/journal-watch.js";
import { createEventPublisher } from "../adapters/nats/event-publisher.js";
import { promMetrics } from "../observability/prom-metrics.js";
import type { WebService } from "../grpc/web-server.js";
import { tokenNamed } from "../access/index.js";

/**
 * `shoal query`: the read side as a role of its own (shoal.v1.QueryService and AlertService over
 * gRPC with health and reflection) on `query.host:query.port`, reading ClickHouse, the vector
 * store and the row log's live rows; SearchText embeds through `shoal gateway` at
 * `gateway.client.address`. Also runs the vector indexer (row log → vector store;
 * docs/adr/0015-vector-writes.md) and the console on `query.webPort` (the same services over
 * gRPC-web and Connect, plus the app).
 */
export async function run(_argv: string[], io: CommandIo): Promise<number> {
  return runReadSide(io, "query");
}

/**
 * The read side and the console in one process: `shoal query` and `shoal console` (a console pod,
 * whose AdminService forwards to `console.adminAddress`). Runs until SIGINT/SIGTERM.
 */
export async function runReadSide(io: CommandIo, role: "query" | "console"): Promise<number> {
  const ctx = await loadRoleConfig(io, role, { journal: true });
  const { cfg, log } = ctx;
  // The tables it reads (a query role may start before any runtime has migrated).
  await migrate(cfg.clickhouse);
  const nc = await connectNats(cfg.nats, `shoal-${role}-${cfg.nodeId}`);
  const gateway = createGatewayClient({ address: cfg.gateway.client.address, token: tokenNamed(cfg.console.tokens, cfg.gateway.client.tokenName), tls: cfg.tls });
  const vectors = await openVectorStore(cfg, log, gateway);
  const incidents = roleIncidents(nc, log, role, promMetrics(ctx.registry));
  const indexer = vectors ? startVectorIndexer(cfg, log, { nc, store: vectors, gateway, events: createEventPublisher(nc), incidents }) : undefined;
  const query = await startQueryRole(cfg, log, { nc, gateway, env: io.env, metrics: promMetrics(ctx.registry), ...(vectors ? { vectors } : {}) });
  const extraServices: WebService[] = [configWebService(io.env, ctx.watcher, log.child({ role: "console" })), ...query.webServices];
  const consoleRole = await startConsoleRole(cfg, log.child({ role: "console" }), { query: query.query, alerts: query.alerts, roles: [role], extraServices, audit: query.audit, metrics: promMetrics(ctx.registry) });
  const status = await startRoleStatus(ctx, { [role]: () => ({ ...(indexer ? { vectors: { ...indexer.indexer.stats } } : {}) }) }, { degraded: () => incidents.degradedReason() });
  const where = consoleRole.url ? `${consoleRole.url}/` : "not started, see the log";
  io.stdout(
    role === "console"
      ? `shoal console: ${where} (app; gRPC-web, Connect); gRPC: ${query.address} (shoal.v1.QueryService, AlertService, DeviceService, AuditService, grpc.health.v1.Health, reflection); admin: ${cfg.console.adminAddress || "none (set console.adminAddress)"}\n`
      : `shoal query listening on ${query.address} (gRPC: shoal.v1.QueryService, AlertService, DeviceService, AuditService, grpc.health.v1.Health, reflection); console: ${where} (app; gRPC-web, Connect)\n`,
  );
  await untilSignal();
  await status.close();
  await consoleRole.close();
  await query.close();
  await indexer?.close();
  await vectors?.close();
  gateway.close();
  await nc.drain();
  await ctx.close();
  return 0;
}
