import type { NatsConnection } from "@nats-io/transport-node";
import type { ShoalConfig } from "../../config/index.js";
import type { MetricsRegistry } from "../../ports/metrics.js";
import { createCallMetrics } from "../../grpc/call-metrics.js";
import type { Logger } from "../../observability/logger.js";
import type { ModelGateway } from "../../ports/gateway.js";
import type { VectorStore } from "../../ports/vector-store.js";
import { systemClock } from "../../base/clock.js";
import { createClickHouseReadModel } from "../../adapters/clickhouse/read-model.js";
import { createNatsRowFeed } from "../../adapters/nats/row-feed.js";
import { createQueryService, FleetHub, startQueryServer, WatchHub } from "../../query/index.js";
import type { ServiceImpl } from "@connectrpc/connect";
import type { QueryService } from "../../gen/shoal/v1/query_pb.js";
import type { AlertService } from "../../gen/shoal/v1/alert_pb.js";
import { createAccessCheck } from "../../access/index.js";
import type { CallPolicy } from "../../grpc/connect-on-grpc.js";
import { addAlertService, ALERT_SERVICE_FILES, ALERT_SERVICE_NAME, AlertWatchHub, createAlertService } from "../../alert-service/index.js";
import { createClickHouseAlertReadModel } from "../../adapters/clickhouse/alert-read-model.js";
import { createSilenceHistory } from "../../adapters/clickhouse/silence-history.js";
import { createNatsAlertFeed } from "../../adapters/nats/alert-feed.js";
import { createCommandJournal } from "../../adapters/nats/command-journal.js";
import { createKvSilenceStore } from "../../adapters/nats/silences-kv.js";
import { createClickHouseAuditLog, type ClickHouseAuditLog } from "../../adapters/clickhouse/audit-log.js";
import { createKvDeviceRegistry } from "../../adapters/nats/device-registry-kv.js";
import { addAuditService, AUDIT_SERVICE_FILES, AUDIT_SERVICE_NAME, createAuditService } from "../../audit-service/index.js";
import { addDeviceService, createDeviceService, DEVICE_SERVICE_FILES, DEVICE_SERVICE_NAME } from "../../device-service/index.js";
import { sealingKeyFromEnv } from "../../registry/index.js";
import { webService, type WebService } from "../../grpc/web-server.js";
import { AuditService } from "../../gen/shoal/v1/audit_pb.js";
import { DeviceService } from "../../gen/shoal/v1/device_pb.js";
import type { BrokerAccounts } from "../../ports/device-registry.js";
import { openBrokerAccounts } from "./broker-identity.js";
import { createConfiguredCommandService } from "./device-commands.js";
import { addCommandService, COMMAND_SERVICE_FILES, COMMAND_SERVICE_NAME } from "../../command-service/index.js";
import { DeviceCommandService } from "../../gen/shoal/v1/command_pb.js";
import { serverCredentials } from "../../grpc/tls.js";

export interface QueryRoleDeps {
  /** For WatchDevice (the row log's subjects). */
  readonly nc: NatsConnection;
  /** Embeds SearchText queries; absent: SearchText is FAILED_PRECONDITION. */
  readonly gateway?: ModelGateway;
  /** Absent: the vector searches are FAILED_PRECONDITION. */
  readonly vectors?: VectorStore;
  /** The broker's device accounts DeviceService writes (absent: opened from mqtt.adminUsername/adminPassword when set and registry.syncBroker). */
  readonly broker?: BrokerAccounts;
  /** The process environment (SHOAL_SECRET_KEY seals device passwords). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the RED metrics of its gRPC calls go (`shoal_grpc_server_*`). Absent: none. */
  readonly metrics?: MetricsRegistry;
}

export interface QueryRole {
  /** `host:port` of the gRPC server. */
  readonly address: string;
  /** The QueryService implementation the gRPC server serves (the console serves it too: src/cli/roles/console-role.ts). */
  readonly query: ServiceImpl<typeof QueryService>;
  /** The AlertService implementation the gRPC server serves. */
  readonly alerts: ServiceImpl<typeof AlertService>;
  /** Live rows of WatchDevice. */
  readonly watch: WatchHub;
  /** The audit log of this process (mutating calls of every port it serves; give it to the admin and console roles too). */
  readonly audit: ClickHouseAuditLog;
  /** DeviceService, DeviceCommandService and AuditService, for the console's HTTP port. */
  readonly webServices: readonly WebService[];
  /** Stops the gRPC server and closes the read models (stop the console first: it serves the same implementations). */
  close(): Promise<void>;
}

/**
 * Composition root of the read side: ClickHouse read model, vector store, live rows, and one gRPC
 * server with QueryService, AlertService (acknowledge/resolve through the journal, silences in
 * NATS KV, live transitions from the alerts' subjects), DeviceService (the registry in NATS KV,
 * the broker's accounts when given), DeviceCommandService (commands to devices) and AuditService;
 * every mutating call is audited. Every call is checked against
 * `console.tokens` (none: no check, a warning is logged). The same services over HTTP (gRPC-web,
 * Connect) are the console's: src/cli/roles/console-role.ts.
 */
export async function startQueryRole(cfg: ShoalConfig, log: Logger, deps: QueryRoleDeps): Promise<QueryRole> {
  const q = cfg.query;
  const readModel = createClickHouseReadModel(cfg.clickhouse, { maxExecutionMs: q.timeoutMs });
  const watch = new WatchHub(
    createNatsRowFeed(deps.nc, (reason) => log.warn({ reason }, "live rows: entry left out")),
    { maxWatchers: q.maxWatchers, bufferItems: q.watchBuffer },
  );
  const gateway = deps.gateway;
  // The fleet page's figures: one computation per interval for every watcher.
  const fleet = new FleetHub(
    {
      fleet: (fq, signal) => readModel.fleet(fq, signal),
      clock: systemClock,
      onError: (err) => log.warn({ err: (err as Error)?.message ?? String(err) }, "fleet figures: computation failed (the next interval retries)"),
    },
    { intervalMs: q.fleetIntervalMs, keepWarmMs: q.fleetKeepWarmMs, offlineAfterMs: q.offlineAfterMs, rateWindowMs: q.fleetRateWindowMs, anomalyWindowMs: q.fleetAnomalyWindowMs, maxWatchers: q.maxWatchers },
  );
  // The first console of the day opens on figures at once (query.fleetKeepWarm).
  fleet.warm();
  const impl = createQueryService({
    fleet,
    readModel,
    vectors: deps.vectors,
    embedText: gateway ? async (text) => (await gateway.embed({ text, subjectId: "query" })).vector : undefined,
    watch,
    now: () => systemClock.now(),
    offlineAfterMs: q.offlineAfterMs,
    onInternalError: (method, err) => log.error({ method, err: (err as Error)?.message ?? String(err) }, "query failed"),
  });
  const access = createAccessCheck(cfg.console.tokens);
  if (!access.enforced) log.warn({ host: q.host }, "no console.tokens configured: every caller of the query gRPC port is an admin (keep query.host on loopback)");
  const audit = createClickHouseAuditLog(cfg.clickhouse, { log: log.child({ part: "audit" }) });
  const policy: CallPolicy = { timeoutMs: q.timeoutMs, maxConcurrentPerCaller: q.maxConcurrentPerCaller, maxStreamsPerCaller: q.maxStreamsPerCaller, access, audit, ...(deps.metrics ? { metrics: createCallMetrics(deps.metrics) } : {}) };
  const onInternalError = (what: string) => (method: string, err: unknown) => log.error({ method, err: (err as Error)?.message ?? String(err) }, `${what} call failed`);
  // The device registry (NATS KV) and its service; the broker's accounts follow in the same call.
  const registry = await createKvDeviceRegistry(deps.nc, { bucket: cfg.registry.bucket, replicas: cfg.nats.replicas, log });
  const ownBroker = deps.broker === undefined && cfg.registry.syncBroker ? await openBrokerAccounts(cfg, log, "query") : undefined;
  const broker = deps.broker ?? ownBroker;
  const deviceImpl = createDeviceService({
    registry,
    ...(broker ? { broker } : {}),
    secretKey: sealingKeyFromEnv(deps.env ?? process.env),
    clock: systemClock,
    onInternalError: onInternalError("device service"),
  });
  const commandImpl = await createConfiguredCommandService(deps.nc, cfg, log, registry);
  const auditImpl = createAuditService({ reader: audit, onInternalError: onInternalError("audit service") });
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
    credentials: serverCredentials(cfg.tls),
    policy,
    extraServices: [
      { name: ALERT_SERVICE_NAME, files: ALERT_SERVICE_FILES, add: (s) => addAlertService(s, alertImpl, policy) },
      { name: DEVICE_SERVICE_NAME, files: DEVICE_SERVICE_FILES, add: (s) => addDeviceService(s, deviceImpl, policy) },
      { name: AUDIT_SERVICE_NAME, files: AUDIT_SERVICE_FILES, add: (s) => addAuditService(s, auditImpl, policy) },
      { name: COMMAND_SERVICE_NAME, files: COMMAND_SERVICE_FILES, add: (s) => addCommandService(s, commandImpl, policy) },
    ],
  });
  log.info({ address: server.address, vectors: deps.vectors?.kind ?? "none" }, "query gRPC server listening");
  return {
    address: server.address,
    query: impl,
    alerts: alertImpl,
    watch,
    audit,
    webServices: [webService(DeviceService, deviceImpl), webService(AuditService, auditImpl), webService(DeviceCommandService, commandImpl)],
    async close() {
      await server.close();
      await fleet.close();
      await Promise.all([readModel.close(), alertReadModel.close(), silenceHistory.close(), audit.close(), ownBroker?.close()]);
    },
  };
}
