import type { Migration } from "./migration-steps.js";

/**
 * Migrations of the vectors' source rows (docs/adr/0015-vector-writes.md), appended after the read
 * model's. Released migrations are never edited; add a new one.
 */
export const vectorMigrations: readonly Migration[] = [
  {
    // One row per anomaly: the shape of the metric's window around it (src/domain/window-features.ts).
    // Replacing on its identity: a replay or a repair inserts the same row again.
    version: 13,
    name: "anomaly_windows",
    statements: [
      `CREATE TABLE IF NOT EXISTS anomaly_windows (
        device_id String,
        epoch UInt64,
        seq UInt64,
        ts_ms Int64,
        metric String,
        score Float64,
        vector Array(Float64),
        ts DateTime MATERIALIZED toDateTime(intDiv(ts_ms, 1000)),
        ingested_at DateTime MATERIALIZED now()
      ) ENGINE = ReplacingMergeTree(ingested_at)
      PARTITION BY toYYYYMM(ts)
      ORDER BY (device_id, epoch, seq, metric)`,
    ],
  },
];
