import type { Migration } from "./migration-steps.js";

/**
 * Migrations of the audit log (src/ports/audit.ts, docs/adr/0020-audit-log.md), appended after the
 * alerts'. Released migrations are never edited; add a new one.
 */
export const auditMigrations: readonly Migration[] = [
  {
    // One row per audited action (who, from where, what, to what, how it ended). Written directly
    // by src/adapters/clickhouse/audit-log.ts, not through the row log. Keyed (at_ms, event_id):
    // newest-first pages read the primary key backwards, and a batch inserted again after an
    // ambiguous failure (a timeout after ClickHouse took it) replaces its own rows (event_id is a
    // random UUID per event; the reader uses FINAL). Partitioned by month of `at` for retention.
    version: 16,
    name: "audit_log",
    statements: [
      `CREATE TABLE IF NOT EXISTS audit_log (
        event_id String,
        at_ms Int64,
        actor String,
        actor_role String,
        source String,
        action String,
        target String,
        outcome String,
        details String,
        at DateTime MATERIALIZED toDateTime(intDiv(at_ms, 1000)),
        ingested_at DateTime MATERIALIZED now()
      ) ENGINE = ReplacingMergeTree(ingested_at)
      PARTITION BY toYYYYMM(at)
      ORDER BY (at_ms, event_id)`,
    ],
  },
];
