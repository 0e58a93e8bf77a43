import type { ClickHouseClient } from "@clickhouse/client";
import { createClickHouseClient, type ClickHouseOptions } from "./client.js";
import { toStorageError } from "./errors.js";

/** One versioned schema change. Statements must run on ClickHouse 18.16 and on current releases. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

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
];

/** Result of a migration run. */
export interface MigrationReport {
  readonly applied: readonly number[];
  readonly current: number;
}

/**
 * Create the database if needed and apply every migration above the recorded version, in order.
 * Idempotent: statements use IF NOT EXISTS and versions are recorded in `schema_migrations`.
 */
export async function migrate(o: ClickHouseOptions, list: readonly Migration[] = migrations): Promise<MigrationReport> {
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
    const rs = await db.query({ query: "SELECT max(version) AS v FROM schema_migrations", format: "JSONEachRow" });
    const rows = (await rs.json()) as Array<{ v: number | string }>;
    let current = Number(rows[0]?.v ?? 0);
    const applied: number[] = [];
    for (const m of [...list].sort((a, b) => a.version - b.version)) {
      if (m.version <= current) continue;
      for (const s of m.statements) await exec(db, s);
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
    await db.close();
  }
}

async function exec(c: ClickHouseClient, query: string): Promise<void> {
  try {
    await c.command({ query });
  } catch (e) {
    throw toStorageError(e, `ClickHouse statement failed (${query.trim().split(/\s+/).slice(0, 6).join(" ")} …)`);
  }
}
