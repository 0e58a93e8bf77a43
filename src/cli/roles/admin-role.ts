import { readFileSync } from "node:fs";
import { Gauge, type Registry } from "prom-client";
import type { MetricsRegistry } from "../../ports/metrics.js";
import { createCallMetrics } from "../../grpc/call-metrics.js";
import type { ShoalConfig } from "../../config/index.js";
import type { Logger } from "../../observability/logger.js";
import { promMetrics } from "../../observability/prom-metrics.js";
import { createRuntimeMetrics } from "../../runtime/index.js";
import type { ServiceImpl } from "@connectrpc/connect";
import { createAccessCheck } from "../../access/index.js";
import { createAdminService, DEFAULT_ADMIN_POLICY, startAdminServer, startReadinessProbe, notCaughtUpReason, type AdminServer, type ReadinessProbe, type RuntimeIntrospection } from "../../admin/index.js";
import type { ClusterAdmin, PartitionJournal, PartitionLag } from "../../cluster/index.js";
import type { AdminService } from "../../gen/shoal/v1/admin_pb.js";
import type { AuditLog } from "../../ports/audit.js";
import { serverCredentials } from "../../grpc/tls.js";

/** Version of this build (package.json), for GetInfo. */
export const SHOAL_VERSION: string = (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** What the admin surface of a process is built from. */
export interface AdminRoleDeps {
  /** Roles this process runs (GetInfo). */
  readonly roles: readonly string[];
  /** Pipeline counters (GetCounters). */
  counters(): Record<string, number>;
  /** The actor runtime, for GetRuntimeStats/RestartWorker and the runtime metrics. */
  readonly runtime?: RuntimeIntrospection;
  /** Cluster administration (cluster mode only). */
  readonly cluster?: ClusterAdmin;
  /** Readiness: "" when ready, else why not (polled every `readyPollMs`). */
  readiness(): Promise<string> | string;
  /** How often readiness is re-evaluated, ms. Default 1000. */
  readonly readyPollMs?: number;
  /** Where mutating calls (Rebalance, DrainNode, RestartWorker) are recorded. */
  readonly audit?: AuditLog;
  /** Where the RED metrics of its gRPC calls go (`shoal_grpc_server_*`). Absent: none. */
  readonly metrics?: MetricsRegistry;
}

/** The admin gRPC server plus readiness of a running process. */
export interface AdminRole {
  /** `host:port` of the admin gRPC server; undefined when it could not bind (logged). */
  readonly address: string | undefined;
  readonly readiness: ReadinessProbe;
  /** The AdminService of this process (also what the console serves over gRPC-web when this process runs it). */
  readonly service: ServiceImpl<typeof AdminService>;
  close(): Promise<void>;
}

/**
 * Starts the admin gRPC server on `admin.host:admin.port` and keeps its health status of
 * `shoal.v1.AdminService` equal to readiness. A port that cannot be bound (several runtimes on
 * one host with the default port) is logged as an error and the process runs on without it.
 * Every AdminService call is checked against `console.tokens` (none configured: no check, and a
 * warning is logged).
 */
export async function startAdminRole(cfg: ShoalConfig, log: Logger, deps: AdminRoleDeps): Promise<AdminRole> {
  const service = createAdminService({
    info: { nodeId: cfg.nodeId, roles: deps.roles, version: SHOAL_VERSION, startedAtMs: Date.now() },
    counters: deps.counters,
    ...(deps.runtime ? { runtime: deps.runtime } : {}),
    ...(deps.cluster ? { cluster: deps.cluster } : {}),
  });
  const access = createAccessCheck(cfg.console.tokens);
  if (!access.enforced) log.warn({ host: cfg.admin.host }, "no console.tokens configured: every caller of the admin gRPC port is an admin (keep admin.host on loopback)");
  let server: AdminServer | undefined;
  try {
    server = await startAdminServer(service, { host: cfg.admin.host, port: cfg.admin.port, credentials: serverCredentials(cfg.tls), policy: { ...DEFAULT_ADMIN_POLICY, access, ...(deps.audit ? { audit: deps.audit } : {}), ...(deps.metrics ? { metrics: createCallMetrics(deps.metrics) } : {}) } });
    log.info({ address: server.address }, "admin gRPC server listening");
  } catch (e) {
    log.error({ err: (e as Error).message, host: cfg.admin.host, port: cfg.admin.port }, "admin gRPC server not started (set admin.port, 0 = a free port)");
  }
  const readiness = startReadinessProbe(deps.readiness, deps.readyPollMs ?? 1000, (ready, reason) => {
    server?.setServing(ready);
    log.info({ ready, ...(reason ? { reason } : {}) }, ready ? "ready" : "not ready");
  });
  return {
    address: server?.address,
    readiness,
    service,
    async close() {
      readiness.close();
      await server?.close();
    },
  };
}

/**
 * Single-node readiness: every partition owned by `owned()` and each durable consumer at most
 * `maxLag` messages behind (lag read through the cluster's {@link PartitionJournal}).
 */
export function singleNodeReadiness(partitions: number, owned: () => readonly number[], journal: PartitionJournal, maxLag: number): () => Promise<string> {
  return async () => {
    const mine = owned();
    const lags = new Map<number, PartitionLag | undefined>();
    await Promise.all(mine.map(async (p) => lags.set(p, await journal.lag(p).catch(() => undefined))));
    return notCaughtUpReason(partitions, mine, lags, maxLag);
  };
}

/**
 * Registers the runtime introspection metrics (src/runtime/runtime-metrics.ts: active actors by
 * type, mailbox depths, turn latency, turns/activations/passivations/... per worker) on `registry`
 * and returns the refresh to run before each scrape.
 */
export function runtimeMetricsRefresher(registry: Registry, runtime: RuntimeIntrospection): () => Promise<void> {
  const metrics = createRuntimeMetrics(promMetrics(registry));
  return async () => metrics.update(await runtime.introspect());
}

/**
 * `shoal_runtime_partition_lag_messages{partition}` (messages of each owned partition's durable
 * consumer not yet acknowledged: pending + delivered-unacked) and `shoal_runtime_partitions_owned`,
 * read before each scrape; returns that refresh. A partition given up is dropped from the gauge.
 * `shoal_runtime_journal_partitions` is the journal's partition count (`partitions`), so an alert
 * can compare the partitions owned with it whatever the count.
 */
export function partitionLagRefresher(registry: Registry, owned: () => readonly number[], journal: PartitionJournal, partitions: number): () => Promise<void> {
  const lag = new Gauge({ name: "shoal_runtime_partition_lag_messages", help: "journal messages of an owned partition not yet acknowledged (pending + in flight)", labelNames: ["partition"], registers: [registry] });
  const count = new Gauge({ name: "shoal_runtime_partitions_owned", help: "journal partitions this runtime owns", registers: [registry] });
  new Gauge({ name: "shoal_runtime_journal_partitions", help: "the journal's partition count (nats.partitions)", registers: [registry] }).set(partitions);
  return async () => {
    const mine = owned();
    count.set(mine.length);
    const lags = await Promise.all(mine.map((p) => journal.lag(p).catch(() => undefined)));
    lag.reset();
    for (const l of lags) if (l !== undefined) lag.set({ partition: String(l.partition) }, l.pending + l.ackPending);
  };
}

/** Numeric fields of `stats` as `<prefix>.<name>` counters (GetCounters). */
export function countersOf(prefix: string, stats: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(stats)) if (typeof v === "number" && Number.isFinite(v)) out[`${prefix}.${k}`] = v;
  return out;
}
