export { createBoundedQueries, createClickHouseClient, type BoundedQueries, type ClickHouseOptions } from "./client.js";
export { migrate, migrations, type Migration, type MigrationReport } from "./migrations.js";
export { ClickHouseSink, type ClickHouseSinkOptions, type SinkStats } from "./sink.js";
export { StorageError, toStorageError } from "./errors.js";
export { StoreRepair, type RepairReport, type StoreRepairOptions } from "./repair.js";
export { sqlString, sqlMs, sqlRunner, type SqlRunner } from "./sql.js";
export { reconcileRollups, type ReconcileOptions } from "./rollups.js";
export { applyRetention, RetentionJob, RETENTION_TIME_COLUMNS, type RetentionPolicy, type RetentionSummary } from "./retention.js";
export { startReadModelJobs, type ReadModelJobs, type ReadModelJobsOptions } from "./read-model-jobs.js";
