import type { Migration } from "./migrations.js";

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
        at DateTime MATERIALIZED toDateTime(intDiv(at_ms, 1000))
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(at)
      ORDER BY (device_id, alert_id, version)`,
    ],
  },
];
