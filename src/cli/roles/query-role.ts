import type { NatsConnection } from "@nats-io/transport-node";
import type { ShoalConfig } from "../../config/index.js";
import type { Logger } from "../../observability/logger.js";
import type { ModelGateway } from "../../ports/gateway.js";
import type { VectorStore } from "../../ports/vector-store.js";
import { systemClock } from "../../base/clock.js";
import { createClickHouseReadModel } from "../../adapters/clickhouse/read-model.js";
import { createNatsRowFeed } from "../../adapters/nats/row-feed.js";
import { createQueryService, startQueryServer, WatchHub } from "../../query/index.js";

export interface QueryRoleDeps {
  /** For WatchDevice (the row log's subjects). */
  readonly nc: NatsConnection;
  /** Embeds SearchText queries; absent: SearchText is FAILED_PRECONDITION. */
  readonly gateway?: ModelGateway;
  /** Absent: the vector searches are FAILED_PRECONDITION. */
  readonly vectors?: VectorStore;
}

export interface QueryRole {
  /** `host:port` of the gRPC server. */
  readonly address: string;
  readonly watch: WatchHub;
  close(): Promise<void>;
}

/** Composition root of the read side: ClickHouse read model, vector store, live rows, gRPC server. */
export async function startQueryRole(cfg: ShoalConfig, log: Logger, deps: QueryRoleDeps): Promise<QueryRole> {
  const q = cfg.query;
  const readModel = createClickHouseReadModel(cfg.clickhouse, { maxExecutionMs: q.timeoutMs });
  const watch = new WatchHub(
    createNatsRowFeed(deps.nc, (reason) => log.warn({ reason }, "live rows: entry left out")),
    { maxWatchers: q.maxWatchers, bufferItems: q.watchBuffer },
  );
  const gateway = deps.gateway;
  const impl = createQueryService({
    readModel,
    vectors: deps.vectors,
    embedText: gateway ? async (text) => (await gateway.embed({ text, subjectId: "query" })).vector : undefined,
    watch,
    now: () => systemClock.now(),
    offlineAfterMs: q.offlineAfterMs,
    onInternalError: (method, err) => log.error({ method, err: (err as Error)?.message ?? String(err) }, "query failed"),
  });
  const server = await startQueryServer(impl, {
    host: q.host,
    port: q.port,
    policy: { timeoutMs: q.timeoutMs, maxConcurrentPerCaller: q.maxConcurrentPerCaller, maxStreamsPerCaller: q.maxStreamsPerCaller },
  });
  log.info({ address: server.address, vectors: deps.vectors?.kind ?? "none" }, "query gRPC server listening");
  return {
    address: server.address,
    watch,
    async close() {
      await server.close();
      await readModel.close();
    },
  };
}
