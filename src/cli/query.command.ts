import { connectNats } from "../adapters/nats/connection.js";
import { migrate } from "../adapters/clickhouse/index.js";
import { createGatewayClient } from "../gateway/index.js";
import type { CommandIo } from "./io.js";
import { untilSignal } from "./io.js";
import { loadRoleConfig } from "./load.js";
import { startQueryRole } from "./roles/query-role.js";
import { openVectorStore, startVectorIndexer } from "./roles/vector-store.js";
import { roleIncidents } from "./roles/journal-watch.js";
import { createEventPublisher } from "../adapters/nats/event-publisher.js";
import { promMetrics } from "../observability/prom-metrics.js";

/**
 * `shoal query`: the read side as a role of its own (shoal.v1.QueryService over gRPC with health
 * and reflection) on `query.host:query.port`, reading ClickHouse, the vector store and the row
 * log's live rows; SearchText embeds through `shoal gateway` at `gateway.client.address`. Also runs
 * the vector indexer (row log → vector store; docs/adr/0015-vector-writes.md).
 */
export async function run(_argv: string[], io: CommandIo): Promise<number> {
  const ctx = await loadRoleConfig(io, "query");
  const { cfg, log } = ctx;
  // The tables it reads (a query role may start before any runtime has migrated).
  await migrate(cfg.clickhouse);
  const nc = await connectNats(cfg.nats.url, `shoal-query-${cfg.nodeId}`);
  const gateway = createGatewayClient({ address: cfg.gateway.client.address });
  const vectors = await openVectorStore(cfg, log, gateway);
  const incidents = roleIncidents(nc, log, "query", promMetrics(ctx.registry));
  const indexer = vectors ? startVectorIndexer(cfg, log, { nc, store: vectors, gateway, events: createEventPublisher(nc), incidents }) : undefined;
  const role = await startQueryRole(cfg, log, { nc, gateway, ...(vectors ? { vectors } : {}) });
  io.stdout(`shoal query listening on ${role.address} (gRPC: shoal.v1.QueryService, shoal.v1.AlertService, grpc.health.v1.Health, reflection)${role.webUrl ? `; ${role.webUrl} (gRPC-web, Connect)` : ""}\n`);
  await untilSignal();
  await role.close();
  await indexer?.close();
  await vectors?.close();
  gateway.close();
  await nc.drain();
  await ctx.close();
  return 0;
}

