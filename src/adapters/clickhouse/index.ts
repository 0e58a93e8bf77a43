export { createClickHouseClient, type ClickHouseOptions } from "./client.js";
export { migrate, migrations, type Migration, type MigrationReport } from "./migrations.js";
export { ClickHouseSink, type ClickHouseSinkOptions, type SinkStats } from "./sink.js";
export { StorageError, toStorageError } from "./errors.js";
export { StoreRepair, type RepairReport, type StoreRepairOptions } from "./repair.js";
