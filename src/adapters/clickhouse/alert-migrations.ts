import type { Migration, MigrationDb } from "./migration-steps.js";
import { addColumnIfMissing } from "./migration-steps.js";

/**
 * Migrations of the alerts' history (docs/adr/0016-alerts.md), appended after the vectors'.
 * Released migrations are never edited; add a new one.
 */
export const alertMigrations: readonly Migration[] = [
  {
    // One row per alert transition (src/domain/alerts.ts): `alerts` keeps each alert's current
    // state, this table every change with who and why. Replacing on (alert, version): a replay or a
    // repair inserts the same transition again.
    version: 14,
    name: "alert_transitions",
    statements: [
      `CREATE TABLE IF NOT EXISTS alert_transitions (
        alert_id String,
        version UInt64,
        device_id String,
        rule String,
        metric String,
        kind String,
        state String,
        severity String,
        at_ms Int64,
        started_at_ms Int64,
        value Float64,
        summary String,
        by String,
        reason String,
        flapping UInt8,
        at DateTime MATERIALIZED toDateTime(intDiv(at_ms, 1000)),
        ingested_at DateTime MATERIALIZED now()
      ) ENGINE = ReplacingMergeTree(ingested_at)
      PARTITION BY toYYYYMM(at)
      ORDER BY (device_id, alert_id, version)`,
    ],
  },
  {
    // Every table written through the row log tells when ClickHouse took a row (`ingested_at`), which
    // the repair counts to report what a power loss took (ADR 0012); `alerts` and `reports` (12)
    // had no such column before their rows travelled the row log.
    version: 15,
    name: "ingested_at on alerts and reports",
    statements: [],
    apply: async (db) => {
      for (const table of ["alerts", "reports"]) await addIngestedAt(db, table);
    },
  },
];

/** Adds `ingested_at DateTime MATERIALIZED now()` to `table` unless it has it. */
function addIngestedAt(db: MigrationDb, table: string): Promise<void> {
  return addColumnIfMissing(db, table, "ingested_at", "DateTime MATERIALIZED now()");
}
