import type { CommandIo } from "./io.js";
import { untilSignal } from "./io.js";
import { loadRoleConfig } from "./load.js";
import { startRuntimeRole } from "./roles/runtime-role.js";
import { connectNats } from "../adapters/nats/connection.js";
import { consulLeases } from "../adapters/consul/index.js";
import { startClusterNode, type ClusterNode, type LeaseOptions } from "../cluster/index.js";
import { createNatsPartitionJournal } from "../adapters/nats/partition-journal.js";
import type { NatsConnection } from "@nats-io/transport-node";
import { startRoleStatus } from "./role-status.js";
import { promMetrics } from "../observability/prom-metrics.js";
import { countersOf, partitionLagRefresher, runtimeMetricsRefresher, singleNodeReadiness, startAdminRole } from "./roles/admin-role.js";
import { createClickHouseAuditLog } from "../adapters/clickhouse/audit-log.js";

/**
 * `shoal runtime`: run the actor runtime until SIGINT/SIGTERM.
 * Without `consul.url` (single node) it owns every partition. With `consul.url` it runs in cluster
 * mode: it starts owning nothing, joins the cluster in Consul and lets the lease manager acquire and
 * release partitions (rendezvous hashing over the members, bounded moves); SIGTERM hands its
 * partitions off gracefully before exiting. `cluster.enabled: false` (or `SHOAL_CLUSTER=off`) forces
 * single-node mode. Lease tuning: the `cluster` config section (sessionTtl, lockDelay, maxMoves,
 * readyLag, leaveTimeout).
 *
 * Operators: the admin gRPC server (shoal.v1.AdminService with health and reflection) on
 * `admin.host:admin.port`, and an HTTP status server on `grpc.host:grpc.webPort` with `/metrics`
 * (pipeline counters and the runtime introspection gauges, read at scrape time), `/healthz` and
 * `/readyz`. Ready (= the health status of "shoal.v1.AdminService") in cluster
 * mode is `cluster.ready()`; single node: every partition owned and at most `cluster.readyLag`
 * messages behind.
 */
export async function run(_argv: string[], io: CommandIo): Promise<number> {
  const ctx = await loadRoleConfig(io, "runtime", { journal: true });
  const { cfg, log } = ctx;
  const clustered = cfg.consul.url !== undefined && cfg.cluster.enabled && io.env.SHOAL_CLUSTER !== "off";
  const rt = await startRuntimeRole(cfg, log, clustered ? "none" : "all", { metrics: promMetrics(ctx.registry) });
  let cluster: ClusterNode | undefined;
  let closeNats = async () => {};
  if (clustered) {
    try {
      const nc = await connectNats(cfg.nats, `shoal-cluster-${cfg.nodeId}`);
      closeNats = () => nc.drain();
      cluster = await startClusterNode({
        leases: consulLeases({ url: cfg.consul.url!, ...(cfg.consul.token ? { token: cfg.consul.token } : {}) }, cfg.consul.prefix),
        env: cfg.env,
        nodeId: cfg.nodeId,
        partitions: cfg.nats.partitions,
        journal: await createNatsPartitionJournal(nc, cfg.nats.stream),
        owner: rt,
        log,
        // The environment form only fails loudly on retired SHOAL_CLUSTER_* variables; values come from config.
        lease: { ...leaseOverrides(io.env), ...leaseOverrides(cfg) },
      });
      log.info({ node: cfg.nodeId, partitions: cfg.nats.partitions }, "runtime joined the cluster");
    } catch (e) {
      // Could not join (Consul or NATS unreachable): stop cleanly instead of hanging with open handles.
      await closeNats().catch(() => {});
      await rt.close();
      await ctx.close();
      throw e;
    }
  }
  // The lag of every owned partition's durable consumer: a metric, and readiness of a single node.
  const lagNc: NatsConnection | undefined = await connectNats(cfg.nats, `shoal-runtime-lag-${cfg.nodeId}`);
  const lagJournal = await createNatsPartitionJournal(lagNc, cfg.nats.stream);
  let readiness: () => Promise<string> | string;
  if (cluster) {
    const node = cluster;
    readiness = () => (node.ready() ? "" : "cluster: not yet owning every targeted partition with at most cluster.readyLag messages pending");
  } else {
    readiness = singleNodeReadiness(cfg.nats.partitions, () => rt.owned(), lagJournal, cfg.cluster.readyLag);
  }
  // Drains, rebalances and worker restarts are recorded (docs/adr/0020-audit-log.md).
  const audit = createClickHouseAuditLog(cfg.clickhouse, { log: log.child({ part: "audit" }) });
  const admin = await startAdminRole(cfg, log, {
    metrics: promMetrics(ctx.registry),
    audit,
    roles: ["runtime"],
    counters: () => countersOf("runtime", rt.stats()),
    runtime: rt,
    ...(cluster ? { cluster: cluster.admin } : {}),
    readiness,
  });
  // activeActors is exported per worker and actor type (shoal_runtime_active_actors) by the refresher.
  const status = await startRoleStatus(ctx, { runtime: () => ({ ...rt.stats(), activeActors: undefined }), sink: () => rt.sinkStats() }, {
    ready: () => admin.readiness.ready(),
    readyReason: () => admin.readiness.reason(),
    degraded: () => rt.incidents.degradedReason(),
    extend: (metrics) => {
      const refreshRuntime = runtimeMetricsRefresher(metrics, rt);
      const refreshLag = partitionLagRefresher(metrics, () => rt.owned(), lagJournal, cfg.nats.partitions);
      return async () => void (await Promise.all([refreshRuntime(), refreshLag()]));
    },
  });
  const unsubscribe = ctx.watcher.subscribe((next) => {
    rt.reconfigure(next.config, next.version);
    ctx.log.info({ version: next.version }, "configuration applied to device actors");
  });
  const timer = setInterval(() => {
    const st = cluster?.status();
    ctx.log.info({ stats: rt.stats(), ...(st ? { cluster: { owned: st.owned.length, target: st.target.length, misplaced: st.misplaced, ready: cluster!.ready() } } : {}) }, "runtime counters");
  }, 10_000);
  const signal = await untilSignal();
  clearInterval(timer);
  unsubscribe();
  await admin.close();
  await audit.close();
  await status.close();
  await lagNc?.drain();
  if (cluster) {
    log.info({ signal }, "leaving the cluster: handing partitions off");
    await cluster.leave();
    await closeNats();
  }
  await rt.close();
  await ctx.close();
  return 0;
}

/**
 * Lease options from the `cluster` config section (durations already in ms; ranges are checked
 * again by leaseOptions): call it with the resolved config, `leaseOverrides(cfg)`. Called with the
 * environment (the old form) it returns no overrides, and throws when one of the retired
 * SHOAL_CLUSTER_*_MS / _MAX_MOVES / _READY_LAG variables is still set, naming the key that replaces it.
 */
function leaseOverrides(
  from: { readonly cluster: { readonly sessionTtlMs: number; readonly lockDelayMs: number; readonly maxMoves: number; readonly readyLag: number; readonly leaveTimeoutMs: number } } | Readonly<Record<string, unknown>>,
): Partial<Omit<LeaseOptions, "nodeId" | "partitions">> {
  const c = from.cluster as { sessionTtlMs: number; lockDelayMs: number; maxMoves: number; readyLag: number; leaveTimeoutMs: number } | string | undefined;
  if (typeof c === "object" && c !== null) return { sessionTtlMs: c.sessionTtlMs, lockDelayMs: c.lockDelayMs, maxMoves: c.maxMoves, readyLag: c.readyLag, leaveTimeoutMs: c.leaveTimeoutMs };
  const retired: Array<[string, string]> = [
    ["SHOAL_CLUSTER_SESSION_TTL_MS", "cluster.sessionTtl (SHOAL__CLUSTER__SESSIONTTL)"],
    ["SHOAL_CLUSTER_LOCK_DELAY_MS", "cluster.lockDelay (SHOAL__CLUSTER__LOCKDELAY)"],
    ["SHOAL_CLUSTER_MAX_MOVES", "cluster.maxMoves (SHOAL__CLUSTER__MAXMOVES)"],
    ["SHOAL_CLUSTER_READY_LAG", "cluster.readyLag (SHOAL__CLUSTER__READYLAG)"],
    ["SHOAL_CLUSTER_LEAVE_TIMEOUT_MS", "cluster.leaveTimeout (SHOAL__CLUSTER__LEAVETIMEOUT)"],
  ];
  for (const [name, key] of retired) {
    const v = (from as Readonly<Record<string, unknown>>)[name];
    if (v !== undefined && v !== "") throw new RangeError(`${name} is no longer read: set the config key ${key} instead`);
  }
  return {};
}
