import type { NatsConnection } from "@nats-io/transport-node";
import type { ShoalConfig } from "../../config/index.js";
import type { Logger } from "../../observability/logger.js";
import type { ModelGateway } from "../../ports/gateway.js";
import type { VectorStore } from "../../ports/vector-store.js";
import { systemClock } from "../../base/clock.js";
import { createClickHouseReadModel } from "../../adapters/clickhouse/read-model.js";
import { createNatsRowFeed } from "../../adapters/nats/row-feed.js";
import { createQueryService, startQueryServer, WatchHub } from "../../query/index.js";
import { QueryService } from "../../gen/shoal/v1/query_pb.js";
import { AlertService } from "../../gen/shoal/v1/alert_pb.js";
import { startWebServer, type WebService } from "../../grpc/web-server.js";
import { addAlertService, ALERT_SERVICE_FILES, ALERT_SERVICE_NAME, AlertWatchHub, createAlertService } from "../../alert-service/index.js";
import { createClickHouseAlertReadModel } from "../../adapters/clickhouse/alert-read-model.js";
import { createSilenceHistory } from "../../adapters/clickhouse/silence-history.js";
import { createNatsAlertFeed } from "../../adapters/nats/alert-feed.js";
import { createCommandJournal } from "../../adapters/nats/command-journal.js";
import { createKvSilenceStore } from "../../adapters/nats/silences-kv.js";

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
  /** `http://host:port` of the same services over HTTP (gRPC-web, Connect), or undefined when off or not started. */
  readonly webUrl: string | undefined;
  readonly watch: WatchHub;
  close(): Promise<void>;
}

/**
 * Composition root of the read side: ClickHouse read model, vector store, live rows, and one gRPC
 * server with QueryService and AlertService (acknowledge/resolve through the journal, silences in
 * NATS KV, live transitions from the alerts' subjects).
 */
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
  const policy = { timeoutMs: q.timeoutMs, maxConcurrentPerCaller: q.maxConcurrentPerCaller, maxStreamsPerCaller: q.maxStreamsPerCaller };
  const alertReadModel = createClickHouseAlertReadModel(cfg.clickhouse, { maxExecutionMs: q.timeoutMs });
  const silenceHistory = createSilenceHistory(cfg.clickhouse);
  const alertImpl = createAlertService({
    readModel: alertReadModel,
    commands: createCommandJournal(deps.nc, { partitions: cfg.nats.partitions }),
    silences: await createKvSilenceStore(deps.nc, { replicas: cfg.nats.replicas, log }),
    watch: new AlertWatchHub(createNatsAlertFeed(deps.nc, (reason) => log.warn({ reason }, "alert feed: message left out")), { maxWatchers: q.maxWatchers, bufferItems: q.watchBuffer }),
    clock: systemClock,
    waitMs: cfg.alerts.commandWaitMs,
    onSilenceChange: (s, action, change) => silenceHistory.record(s, action, change),
    onInternalError: (method, err) => log.error({ method, err: (err as Error)?.message ?? String(err) }, "alert service call failed"),
  });
  const server = await startQueryServer(impl, {
    host: q.host,
    port: q.port,
    policy,
    extraServices: [{ name: ALERT_SERVICE_NAME, files: ALERT_SERVICE_FILES, add: (s) => addAlertService(s, alertImpl, policy) }],
  });
  log.info({ address: server.address, vectors: deps.vectors?.kind ?? "none" }, "query gRPC server listening");
  // The same services for browsers (gRPC-web) and HTTP clients (Connect); a taken port is logged, not fatal.
  const web =
    q.webPort < 0
      ? undefined
      : await startWebServer(
          [
            { service: QueryService, impl: impl as unknown as WebService["impl"] },
            { service: AlertService, impl: alertImpl as unknown as WebService["impl"] },
          ],
          { host: q.host, port: q.webPort, policy },
        ).catch((e: Error) => (log.error({ err: e.message, port: q.webPort }, "query HTTP server (gRPC-web, Connect) not started"), undefined));
  if (web) log.info({ url: web.url }, "query HTTP server listening (gRPC-web, Connect)");
  return {
    address: server.address,
    webUrl: web?.url,
    watch,
    async close() {
      await web?.close();
      await server.close();
      await Promise.all([readModel.close(), alertReadModel.close(), silenceHistory.close()]);
    },
  };
}
