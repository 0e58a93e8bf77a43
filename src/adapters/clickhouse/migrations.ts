import type { ClickHouseClient } from "@clickhouse/client";
import { createClickHouseClient, type ClickHouseOptions } from "./client.js";
import { toStorageError } from "./errors.js";
import { readModelMigrations } from "./read-model-migrations.js";
import { vectorMigrations } from "./vector-migrations.js";
import { alertMigrations } from "./alert-migrations.js";
import { detectionMigrations } from "./detection-migrations.js";
import { auditMigrations } from "./audit-migrations.js";
import { feedMigrations } from "./feed-migrations.js";
import { sleep } from "../../base/clock.js";
import { acquireMigrationLease, type MigrationLeaseOptions } from "./migration-lease.js";
import { isReplacing, rebuild, rekey, type Migration, type MigrationDb } from "./migration-steps.js";

export type { Migration, MigrationDb } from "./migration-steps.js";

/**
 * The schema, in order. Never edit a released migration; add a new one.
 * 18.16 constraints: no DateTime64, no input_format_defaults_for_omitted_fields (so derived columns are
 * MATERIALIZED, computed on every insert), no Map type (metrics are parallel arrays).
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "readings",
    statements: [
      `CREATE TABLE IF NOT EXISTS readings (
        device_id String,
        seq UInt64,
        ts_ms Int64,
        metric_names Array(String),
        metric_values Array(Float64),
        metric_scores Array(Float64),
        score Float64,
        log String,
        stream_seq UInt64,
        ts DateTime MATERIALIZED toDateTime(intDiv(ts_ms, 1000)),
        ingested_at DateTime MATERIALIZED now()
      ) ENGINE = ReplacingMergeTree(ingested_at)
      PARTITION BY toYYYYMM(ts)
      ORDER BY (device_id, seq)`,
    ],
  },
  {
    version: 2,
    name: "dead_letters",
    statements: [
      `CREATE TABLE IF NOT EXISTS dead_letters (
        stage String,
        code String,
        reason String,
        source String,
        payload String,
        at_ms Int64,
        at DateTime MATERIALIZED toDateTime(intDiv(at_ms, 1000))
      ) ENGINE = MergeTree
      PARTITION BY toYYYYMM(at)
      ORDER BY (stage, code, at_ms)`,
    ],
  },
  {
    version: 3,
    name: "analyses",
    statements: [
      `CREATE TABLE IF NOT EXISTS analyses (
        device_id String,
        seq UInt64,
        ts_ms Int64,
        metric String,
        score Float64,
        summary String,
        likely_cause String,
        suggested_action String,
        provider String,
        model String,
        prompt_version String,
        cached UInt8,
        degraded UInt8,
        cost_usd Float64,
        ts DateTime MATERIALIZED toDateTime(intDiv(ts_ms, 1000)),
        ingested_at DateTime MATERIALIZED now()
      ) ENGINE = ReplacingMergeTree(ingested_at)
      PARTITION BY toYYYYMM(ts)
      ORDER BY (device_id, seq, metric)`,
    ],
  },
  {
    version: 4,
    name: "readings keyed by epoch",
    statements: [],
    apply: rekey(
      "readings",
      `device_id String,
        epoch UInt64,
        seq UInt64,
        ts_ms Int64,
        metric_names Array(String),
        metric_values Array(Float64),
        metric_scores Array(Float64),
        score Float64,
        log String,
        stream_seq UInt64,
        ts DateTime MATERIALIZED toDateTime(intDiv(ts_ms, 1000)),
        ingested_at DateTime MATERIALIZED now()`,
      "ORDER BY (device_id, epoch, seq, ts_ms)",
      "device_id, 0, seq, ts_ms, metric_names, metric_values, metric_scores, score, log, stream_seq",
    ),
  },
  {
    version: 5,
    name: "analyses keyed by epoch",
    statements: [],
    apply: rekey(
      "analyses",
      `device_id String,
        epoch UInt64,
        seq UInt64,
        ts_ms Int64,
        metric String,
        score Float64,
        summary String,
        likely_cause String,
        suggested_action String,
        provider String,
        model String,
        prompt_version String,
        cached UInt8,
        degraded UInt8,
        cost_usd Float64,
        ts DateTime MATERIALIZED toDateTime(intDiv(ts_ms, 1000)),
        ingested_at DateTime MATERIALIZED now()`,
      "ORDER BY (device_id, epoch, seq, metric)",
      "device_id, 0, seq, ts_ms, metric, score, summary, likely_cause, suggested_action, provider, model, prompt_version, cached, degraded, cost_usd",
    ),
  },
  {
    version: 6,
    name: "device_events",
    statements: [
      `CREATE TABLE IF NOT EXISTS device_events (
        device_id String,
        kind String,
        epoch UInt64,
        at_ms Int64,
        last_seq UInt64,
        detail String,
        at DateTime MATERIALIZED toDateTime(intDiv(at_ms, 1000))
      ) ENGINE = MergeTree
      PARTITION BY toYYYYMM(at)
      ORDER BY (device_id, at_ms, kind)`,
    ],
  },
  {
    // Every table replaces an identical row: ClickHouse is repaired by inserting again what the
    // row log holds (docs/adr/0012-row-log-repair.md), which must not duplicate events.
    version: 7,
    name: "device_events replacing",
    statements: [],
    apply: rebuild(
      "device_events",
      `device_id String,
        kind String,
        epoch UInt64,
        at_ms Int64,
        last_seq UInt64,
        detail String,
        at DateTime MATERIALIZED toDateTime(intDiv(at_ms, 1000)),
        ingested_at DateTime MATERIALIZED now()`,
      "ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(at) ORDER BY (device_id, at_ms, kind, epoch, last_seq)",
      "device_id, kind, epoch, at_ms, last_seq, detail",
      isReplacing("device_events"),
    ),
  },
  {
    version: 8,
    name: "dead_letters replacing",
    statements: [],
    apply: rebuild(
      "dead_letters",
      `stage String,
        code String,
        reason String,
        source String,
        payload String,
        at_ms Int64,
        at DateTime MATERIALIZED toDateTime(intDiv(at_ms, 1000)),
        ingested_at DateTime MATERIALIZED now()`,
      "ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(at) ORDER BY (stage, code, at_ms, source, cityHash64(reason, payload))",
      "stage, code, reason, source, payload, at_ms",
      isReplacing("dead_letters"),
    ),
  },
  {
    // In memory only: a row per node that ClickHouse forgets when it restarts, which is how the
    // repair notices a restart exactly (uptime() counts whole seconds and cannot tell a quick one).
    version: 9,
    name: "repair_markers",
    statements: ["CREATE TABLE IF NOT EXISTS repair_markers (node String, at_ms Int64) ENGINE = Memory"],
  },
  // 10+: the read model (rollups, device_status, alerts, reports), in read-model-migrations.ts.
  ...readModelMigrations,
  // 13+: the vectors' source rows (anomaly windows), in vector-migrations.ts.
  ...vectorMigrations,
  // 14+: the alerts' history, in alert-migrations.ts.
  ...alertMigrations,
  // 16+: the audit log, in audit-migrations.ts.
  ...auditMigrations,
  // 17, 19, 20: anomaly detection's outputs (reasons, incident, keys with ts_ms), in detection-migrations.ts.
  ...detectionMigrations,
  // 18+: the read model's views fed by readings_feed instead of readings, in feed-migrations.ts.
  ...feedMigrations,
].sort((a, b) => a.version - b.version);

/** Result of a migration run. */
export interface MigrationReport {
  readonly applied: readonly number[];
  readonly current: number;
}

/**
 * Create the database if needed and apply every migration above the recorded version, in order.
 * Idempotent: statements use IF NOT EXISTS and versions are recorded in `schema_migrations`. When
 * something is to apply, processes starting at once take turns (`leaseOptions`: see migration-lease.ts).
 */
export async function migrate(o: ClickHouseOptions, list: readonly Migration[] = migrations, leaseOptions: MigrationLeaseOptions = {}): Promise<MigrationReport> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.database)) throw toStorageError(new Error(`invalid database name "${o.database}"`), "migrate");
  const admin = createClickHouseClient(o, "default");
  try {
    await exec(admin, `CREATE DATABASE IF NOT EXISTS ${o.database}`);
  } finally {
    await admin.close();
  }
  const db = createClickHouseClient(o);
  try {
    await exec(db, `CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = MergeTree ORDER BY version`);
    const pending = (current: number) => [...list].sort((a, b) => a.version - b.version).filter((m) => m.version > current);
    const before = await currentVersion(db);
    if (pending(before).length === 0) return { applied: [], current: before };
    // Something to apply: one process at a time (see migration-lease.ts), and the version read again
    // under the lease (the process before may have applied it).
    const mdb = migrationDb(db);
    const lease = await acquireMigrationLease(mdb, leaseOptions);
    try {
      let current = await currentVersion(db);
      const applied: number[] = [];
      for (const m of pending(current)) {
        await lease.assertHeld();
        for (const s of m.statements) await exec(db, s);
        if (m.apply) await m.apply(mdb);
        await db.insert({
          table: "schema_migrations",
          values: [{ version: m.version, name: m.name, applied_at: new Date().toISOString().slice(0, 19).replace("T", " ") }],
          format: "JSONEachRow",
        });
        applied.push(m.version);
        current = m.version;
      }
      return { applied, current };
    } finally {
      await lease.release();
    }
  } finally {
    await db.close();
  }
}

async function currentVersion(db: ClickHouseClient): Promise<number> {
  const rs = await db.query({ query: "SELECT max(version) AS v FROM schema_migrations", format: "JSONEachRow" });
  return Number(((await rs.json()) as Array<{ v: number | string }>)[0]?.v ?? 0);
}

/** Reads of `system.tables` a migration makes before a concurrent rebuild's UNKNOWN_TABLE fails it. */
const SYSTEM_TABLES_ATTEMPTS = 5;

function migrationDb(c: ClickHouseClient): MigrationDb {
  return {
    exec: (statement) => exec(c, statement),
    async query<T>(select: string): Promise<T[]> {
      for (let attempt = 1; ; attempt++) {
        try {
          return (await (await c.query({ query: select, format: "JSONEachRow" })).json()) as T[];
        } catch (e) {
          // ClickHouse 18.16 reads every table of the database for `system.tables`, and fails with
          // UNKNOWN_TABLE (60) when another process starting at the same time drops or renames one
          // meanwhile (a rebuild's temporary table): asked again, the table is simply gone.
          if (attempt < SYSTEM_TABLES_ATTEMPTS && /system\.tables/.test(select) && /Code: 60\b/.test(String((e as Error).message))) {
            await sleep(50 * attempt);
            continue;
          }
          throw toStorageError(e, `ClickHouse query failed (${select.trim().split(/\s+/).slice(0, 6).join(" ")} …)`);
        }
      }
    },
  };
}

async function exec(c: ClickHouseClient, query: string): Promise<void> {
  try {
    await c.command({ query });
  } catch (e) {
    throw toStorageError(e, `ClickHouse statement failed (${query.trim().split(/\s+/).slice(0, 6).join(" ")} …)`);
  }
}
