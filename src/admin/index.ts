/**
 * Admin: `shoal.v1.AdminService` over gRPC in every Shoal process (identity, counters, runtime
 * introspection, worker restarts, cluster members/partition map/rebalance/drain), with health
 * (readiness) and reflection, plus its client.
 */
export { ADMIN_SERVICE_NAME, adminHandlers, startAdminServer } from "./admin-server.js";
export type { AdminDeps, AdminServer, AdminServerOptions, ProcessInfo } from "./admin-server.js";
export { runtimeStatsToPb } from "./runtime-stats.js";
export type { RuntimeIntrospection } from "./runtime-stats.js";
export { NotAvailableError, NotClusteredError, statusOf } from "./errors.js";
export { notCaughtUpReason, startReadinessProbe } from "./readiness.js";
export type { ReadinessProbe } from "./readiness.js";
export { AdminCallError, createAdminClient } from "./client.js";
export type { AdminClient } from "./client.js";
