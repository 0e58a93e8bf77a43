/**
 * Admin: `shoal.v1.AdminService` (identity, counters, runtime introspection, worker restarts,
 * cluster members/partition map/rebalance/drain, WatchCluster) as one Connect implementation —
 * of this process, or forwarding to a runtime's admin server — served over gRPC with health
 * (readiness) and reflection, and over gRPC-web/Connect by the console; plus its client.
 */
export { ADMIN_SERVICE_NAME, DEFAULT_ADMIN_POLICY, startAdminServer } from "./admin-server.js";
export type { AdminServer, AdminServerOptions } from "./admin-server.js";
export { callerOf, createAdminService } from "./admin-service.js";
export type { AdminDeps, ProcessInfo } from "./admin-service.js";
export { createRemoteAdminService } from "./remote-admin-service.js";
export { ClusterWatchHub, clusterSnapshot, watchIntervalMs, DEFAULT_WATCH_INTERVAL_MS, MIN_WATCH_INTERVAL_MS } from "./cluster-watch.js";
export type { ClusterParts, ClusterWatchRequest } from "./cluster-watch.js";
export { runtimeStatsToPb } from "./runtime-stats.js";
export type { RuntimeIntrospection } from "./runtime-stats.js";
export { NotAvailableError, NotClusteredError, statusOf, toConnectError } from "./errors.js";
export { notCaughtUpReason, startReadinessProbe } from "./readiness.js";
export type { ReadinessProbe } from "./readiness.js";
export { AdminCallError, createAdminClient } from "./client.js";
export type { AdminCallOptions, AdminClient } from "./client.js";
