import { describe, expect, it } from "vitest";
import { createClickHouseClient, migrate, sqlRunner } from "../../src/adapters/clickhouse/index.js";
import { createClickHouseReadModel } from "../../src/adapters/clickhouse/read-model.js";
import { acquireMigrationLease } from "../../src/adapters/clickhouse/migration-lease.js";
import { migrations } from "../../src/adapters/clickhouse/migrations.js";
import { rekey } from "../../src/adapters/clickhouse/migration-steps.js";
import { sleep, systemClock } from "../../src/base/clock.js";
import type { Clock } from "../../src/ports/clock.js";
import { ANALYSIS_INCIDENT_SQL, ANALYSIS_KEY_SQL, ANALYSES_SCHEMA, ANALYSES_TABLE, ANOMALY_WINDOWS_SCHEMA, ANOMALY_WINDOWS_TABLE, DEVICE_EVENTS_SCHEMA, DEVICE_EVENTS_TABLE, READINGS_SCHEMA, READINGS_TABLE } from "../../src/domain/tables.js";
import { migratedClickHouse } from "../support/clickhouse-db.js";
import { chQuery } from "../support/pipeline.js";

// ClickHouse's schema as the migrations make it (a real ClickHouse): the columns the sink's
// RowBinary inserts are written with, databases of older releases, table rebuilds during a rolling
// upgrade, sorting keys that keep every anomaly, concurrent migrations and their lease.

/** A small table keyed (device_id, seq), for the rebuild tests to give the key (device_id, seq, ts_ms). */
const REKEY_COLUMNS = `device_id String,
  seq UInt64,
  ts_ms Int64,
  ts DateTime MATERIALIZED toDateTime(intDiv(ts_ms, 1000)),
  ingested_at DateTime MATERIALIZED now()`;
const rekeyTable = (name: string) => `CREATE TABLE ${name} (${REKEY_COLUMNS}) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(ts) ORDER BY (device_id, seq)`;

const database = "schema_test";
const ch = migratedClickHouse(database);
const opts = ch.opts;

describe("ClickHouse schema and migrations (real ClickHouse)", () => {
  it("declares the columns the migrations create (the schemas RowBinary inserts are written with)", async () => {
    for (const [table, schema] of [
      [READINGS_TABLE, READINGS_SCHEMA],
      [ANALYSES_TABLE, ANALYSES_SCHEMA],
      [DEVICE_EVENTS_TABLE, DEVICE_EVENTS_SCHEMA],
      [ANOMALY_WINDOWS_TABLE, ANOMALY_WINDOWS_SCHEMA],
    ] as const) {
      const cols = await chQuery<{ name: string; type: string; default_type: string }>(ch.url, database, `DESCRIBE TABLE ${table}`);
      expect(cols.filter((c) => c.default_type !== "MATERIALIZED").map((c) => ({ name: c.name, type: c.type }))).toEqual(schema.columns);
    }
  });

  it("migrates a database of an older release: rows keep their values in epoch 0, keyed (device_id, epoch, seq, ts_ms)", async () => {
    const old = { ...opts(), database: "sink_migrate" };
    await migrate(old, migrations.filter((m) => m.version <= 3));
    const ins = (q: string) => fetch(`${ch.url}/?database=sink_migrate`, { method: "POST", body: q }).then(async (r) => expect(r.status, await r.text()).toBe(200));
    await ins("INSERT INTO readings (device_id, seq, ts_ms, metric_names, metric_values, metric_scores, score, log, stream_seq) VALUES ('old', 7, 1700000000000, ['t'], [1.5], [0.25], 0.25, 'x', 42)");
    await ins("INSERT INTO analyses (device_id, seq, ts_ms, metric, score, summary, likely_cause, suggested_action, provider, model, prompt_version, cached, degraded, cost_usd) VALUES ('old', 7, 1700000000000, 't', 0.95, 's', 'c', 'a', 'p', 'm', 'v1', 0, 0, 0.001)");
    expect((await migrate(old)).applied).toEqual(migrations.filter((m) => m.version > 3).map((m) => m.version));
    const r = await chQuery<Record<string, unknown>>(ch.url, "sink_migrate", "SELECT device_id, toString(epoch) AS e, toString(seq) AS s, metric_values AS v, log, toString(stream_seq) AS ss FROM readings FINAL");
    expect(r).toEqual([{ device_id: "old", e: "0", s: "7", v: [1.5], log: "x", ss: "42" }]);
    // An analysis stored before incidents existed is its own incident (migration 19's default, and 20's for its time).
    const a = await chQuery<Record<string, unknown>>(ch.url, "sink_migrate", "SELECT toString(epoch) AS e, summary, cost_usd, toString(incident_epoch) AS ie, toString(incident_seq) AS iseq, toString(incident_ts_ms) AS its FROM analyses FINAL");
    expect(a).toEqual([{ e: "0", summary: "s", cost_usd: 0.001, ie: "0", iseq: "7", its: "1700000000000" }]);
    const keys = await chQuery<{ name: string; sorting_key: string }>(ch.url, "sink_migrate", "SELECT name, sorting_key FROM system.tables WHERE database = 'sink_migrate' AND name IN ('readings', 'analyses', 'anomaly_windows') ORDER BY name");
    expect(keys).toEqual([
      { name: "analyses", sorting_key: "device_id, epoch, seq, ts_ms, metric" },
      { name: "anomaly_windows", sorting_key: "device_id, epoch, seq, ts_ms, metric" },
      { name: "readings", sorting_key: "device_id, epoch, seq, ts_ms" },
    ]);
    const left = await chQuery<{ name: string }>(ch.url, "sink_migrate", "SELECT name FROM system.tables WHERE database = 'sink_migrate' AND name LIKE '%rekey%'");
    expect(left).toEqual([]);
    expect((await migrate(old)).applied).toEqual([]);
  });

  it("migrating to 20 keeps a release-19 database's anomalies: a counterless device's two of one metric stay two, a joined one stays in its incident", async () => {
    const old = { ...opts(), database: "sink_migrate_20" };
    await migrate(old, migrations.filter((m) => m.version <= 19));
    const row = (seq: number, tsMs: number, incidentSeq: number, summary: string) =>
      JSON.stringify({ device_id: "m", epoch: 1, seq, ts_ms: tsMs, metric: "t", score: 0.95, summary, likely_cause: "", suggested_action: "", provider: "p", model: "m", prompt_version: "", cached: 0, degraded: 0, cost_usd: 0, reasons: "", incident_epoch: 1, incident_seq: incidentSeq });
    const body = [row(0, 1000, 0, "first"), row(0, 2000, 0, "second"), row(801, 3000, 801, "opened"), row(807, 9000, 801, "")].join("\n");
    const res = await fetch(`${ch.url}/?database=sink_migrate_20&query=${encodeURIComponent("INSERT INTO analyses FORMAT JSONEachRow")}`, { method: "POST", body });
    expect(res.status, await res.text()).toBe(200);
    expect((await migrate(old)).applied).toEqual(migrations.filter((m) => m.version > 19).map((m) => m.version));
    await chQuery(ch.url, "sink_migrate_20", "OPTIMIZE TABLE analyses FINAL");
    const got = await chQuery<{ s: string; t: string; summary: string }>(ch.url, "sink_migrate_20", "SELECT toString(seq) AS s, toString(ts_ms) AS t, summary FROM analyses ORDER BY ts_ms");
    expect(got.map((r) => [r.s, r.t, r.summary])).toEqual([
      ["0", "1000", "first"],
      ["0", "2000", "second"],
      ["801", "3000", "opened"],
      ["807", "9000", ""],
    ]);
    const n = await chQuery<{ a: string; i: string }>(ch.url, "sink_migrate_20", `SELECT toString(uniqExact(device_id, ${ANALYSIS_KEY_SQL})) AS a, toString(uniqExact(device_id, ${ANALYSIS_INCIDENT_SQL})) AS i FROM analyses`);
    expect(n).toEqual([{ a: "4", i: "3" }]);
  });

  it("a rebuild keeps the rows an older release writes while it copies (a rolling upgrade): copied again after the swap", async () => {
    const client = createClickHouseClient(opts());
    const db = sqlRunner(client);
    try {
      await db.exec(rekeyTable("rk_test"));
      await db.exec("INSERT INTO rk_test (device_id, seq, ts_ms) VALUES ('d', 0, 1000), ('d', 1, 2000)");
      let wrote = 0;
      await rekey("rk_test", REKEY_COLUMNS, "ORDER BY (device_id, seq, ts_ms)", "device_id, seq, ts_ms", {
        // A writer of the previous release, by the table's name, after the copy and before the swap.
        afterCopy: async () => {
          await db.exec("INSERT INTO rk_test (device_id, seq, ts_ms) VALUES ('d', 0, 3000), ('d', 2, 4000)");
          wrote++;
        },
      })(db);
      expect(wrote).toBe(1);
      await db.exec("OPTIMIZE TABLE rk_test FINAL");
      expect(await chQuery<{ s: string; t: string }>(ch.url, database, "SELECT toString(seq) AS s, toString(ts_ms) AS t FROM rk_test ORDER BY ts_ms")).toEqual([
        { s: "0", t: "1000" },
        { s: "1", t: "2000" },
        { s: "0", t: "3000" },
        { s: "2", t: "4000" },
      ]);
      expect(await chQuery<{ k: string }>(ch.url, database, "SELECT sorting_key AS k FROM system.tables WHERE database = currentDatabase() AND name = 'rk_test'")).toEqual([{ k: "device_id, seq, ts_ms" }]);
      expect(await chQuery<{ name: string }>(ch.url, database, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'rk_test_%'")).toEqual([]);
    } finally {
      await db.exec("DROP TABLE IF EXISTS rk_test");
      await client.close();
    }
  });

  it("a rebuild that failed after its swap is finished by the next run: the older release's rows copied, the old table dropped", async () => {
    const client = createClickHouseClient(opts());
    const db = sqlRunner(client);
    const rows = () => chQuery<{ s: string; t: string }>(ch.url, database, "SELECT toString(seq) AS s, toString(ts_ms) AS t FROM rk_fail FINAL ORDER BY ts_ms");
    const leftOver = () => chQuery<{ name: string }>(ch.url, database, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'rk_fail_%'");
    try {
      await db.exec(rekeyTable("rk_fail"));
      await db.exec("INSERT INTO rk_fail (device_id, seq, ts_ms) VALUES ('d', 1, 1000)");
      const step = (hooks: Parameters<typeof rekey>[4]) => rekey("rk_fail", REKEY_COLUMNS, "ORDER BY (device_id, seq, ts_ms)", "device_id, seq, ts_ms", hooks);
      await expect(
        step({
          afterCopy: () => db.exec("INSERT INTO rk_fail (device_id, seq, ts_ms) VALUES ('d', 2, 2000)"),
          afterSwap: () => Promise.reject(new Error("ClickHouse went away")),
        })(db),
      ).rejects.toThrow("ClickHouse went away");
      // Swapped (the new key), but the row written during the copy is only in the old table.
      expect(await rows()).toEqual([{ s: "1", t: "1000" }]);
      expect((await leftOver()).map((t) => t.name)).toEqual([expect.stringMatching(/^rk_fail_before_rekey_[0-9a-f]{8}_[0-9]+$/)]);
      // A table of that prefix left by a release before this one (no copy start in its name) is not touched.
      await db.exec(rekeyTable("rk_fail_before_rekey_0badc0de"));
      await db.exec("INSERT INTO rk_fail_before_rekey_0badc0de (device_id, seq, ts_ms) VALUES ('x', 9, 9000)");
      // The migration was not recorded, so it runs again: the key is new already, the old table is finished.
      await step({})(db);
      expect(await rows()).toEqual([
        { s: "1", t: "1000" },
        { s: "2", t: "2000" },
      ]);
      expect(await leftOver()).toEqual([{ name: "rk_fail_before_rekey_0badc0de" }]);
    } finally {
      await db.exec("DROP TABLE IF EXISTS rk_fail");
      await db.exec("DROP TABLE IF EXISTS rk_fail_before_rekey_0badc0de");
      for (const { name } of await leftOver()) await db.exec(`DROP TABLE IF EXISTS ${name}`);
      await client.close();
    }
  });

  it("keeps every anomaly of a device without a counter (all its seqs 0) once merged: explanations, windows, counts, incidents", async () => {
    const db = "sink_counterless";
    await migrate({ ...opts(), database: db });
    const base = { device_id: "nc", epoch: 2, seq: 0, metric: "temp", likely_cause: "", suggested_action: "", prompt_version: "", cached: 0, degraded: 0, cost_usd: 0, reasons: "" };
    const t0 = Date.now() - 600_000;
    const analyses = [
      { ...base, ts_ms: t0, score: 0.95, summary: "temp spiked", provider: "local", model: "local", incident_epoch: 2, incident_seq: 0, incident_ts_ms: t0 },
      { ...base, ts_ms: t0 + 6000, score: 0.93, summary: "", provider: "shoal", model: "incident", incident_epoch: 2, incident_seq: 0, incident_ts_ms: t0 },
      { ...base, ts_ms: t0 + 60_000, score: 0.97, summary: "temp spiked again", provider: "local", model: "local", incident_epoch: 2, incident_seq: 0, incident_ts_ms: t0 + 60_000 },
    ];
    const windows = [0, 60_000].map((dt, k) => ({ device_id: "nc", epoch: 2, seq: 0, ts_ms: t0 + dt, metric: "temp", score: 0.95, vector: Array.from({ length: 32 }, () => k + 1) }));
    // Each row in an insert of its own (parts a merge then joins), as the sink writes them over time.
    for (const [table, rows] of [["analyses", analyses], ["anomaly_windows", windows]] as const) {
      for (const r of rows) {
        const res = await fetch(`${ch.url}/?database=${db}&query=${encodeURIComponent(`INSERT INTO ${table} FORMAT JSONEachRow`)}`, { method: "POST", body: JSON.stringify(r) });
        expect(res.status, await res.text()).toBe(200);
      }
      await chQuery(ch.url, db, `OPTIMIZE TABLE ${table} FINAL`);
    }
    expect(await chQuery<{ n: string }>(ch.url, db, "SELECT toString(count()) AS n FROM analyses")).toEqual([{ n: "3" }]);
    expect(await chQuery<{ n: string }>(ch.url, db, "SELECT toString(count()) AS n FROM anomaly_windows")).toEqual([{ n: "2" }]);
    const rm = createClickHouseReadModel({ ...opts(), database: db }, { maxExecutionMs: 10_000 });
    try {
      const listed = await rm.analyses({ deviceId: "nc", fromMs: t0 - 1, toMs: t0 + 120_000, minScore: 0, limit: 10 });
      expect(listed.map((a) => [a.tsMs - t0, a.summary, a.incidentSeq, a.incidentTsMs - t0])).toEqual([
        [60_000, "temp spiked again", 0, 60_000],
        [6000, "", 0, 0],
        [0, "temp spiked", 0, 0],
      ]);
      const fleet = await rm.fleet({ nowMs: t0 + 120_000, offlineAfterMs: 300_000, rateWindowMs: 3_600_000, anomalyWindowMs: 3_600_000, top: 5 });
      expect(fleet).toMatchObject({ anomaliesInRateWindow: 3, incidentsInRateWindow: 2 });
      expect(fleet.top).toEqual([{ deviceId: "nc", anomalies: 3, incidents: 2, maxScore: 0.97, lastAnomalyMs: t0 + 60_000 }]);
      expect((await rm.anomalyWindow({ deviceId: "nc", epoch: 2, seq: 0, tsMs: t0 + 60_000, metric: "temp" }))?.[0]).toBe(2);
      expect((await rm.explanations([{ deviceId: "nc", epoch: 2, seq: 0, tsMs: t0, metric: "temp" }])).map((a) => a.summary)).toEqual(["temp spiked"]);
    } finally {
      await rm.close();
    }
  });

  it("several processes migrating one new database at once all succeed, leaving the current schema and nothing else", async () => {
    const fresh = { ...opts(), database: "sink_concurrent" };
    const reports = await Promise.all([migrate(fresh), migrate(fresh), migrate(fresh)]);
    const last = migrations.at(-1)!.version;
    expect(reports.map((r) => r.current)).toEqual([last, last, last]);
    const tables = await chQuery<{ name: string; sorting_key: string; engine: string }>(ch.url, "sink_concurrent", "SELECT name, sorting_key, engine FROM system.tables WHERE database = 'sink_concurrent' ORDER BY name");
    expect(tables.map((t) => t.name)).toEqual([
      ...["alert_transitions", "alerts", "analyses", "anomaly_windows", "audit_log", "dead_letters", "device_events", "device_status", "device_status_events_mv", "device_status_feed_mv"],
      ...["readings", "readings_1h", "readings_1m", "readings_feed", "readings_feed_1h_mv", "readings_feed_1m_mv", "repair_markers", "reports", "schema_migration_claims", "schema_migrations"],
    ]);
    // The read model's views are on readings_feed (migration 18), which keeps nothing; none is on readings.
    expect(tables.find((t) => t.name === "readings_feed")!.engine).toBe("Null");
    expect(tables.find((t) => t.name === "readings")!.sorting_key).toBe("device_id, epoch, seq, ts_ms");
    // Every table the sink writes replaces identical rows (a repair inserts a window again: ADR 0012).
    expect(tables.filter((t) => ["analyses", "anomaly_windows", "dead_letters", "device_events", "readings"].includes(t.name)).map((t) => t.engine)).toEqual(Array(5).fill("ReplacingMergeTree"));
  });

  it("the migration lease: one holder at a time in claim order, and one that stops renewing its claim loses it", async () => {
    await fetch(ch.url, { method: "POST", body: "CREATE DATABASE IF NOT EXISTS sink_lease" });
    const client = createClickHouseClient({ ...opts(), database: "sink_lease" });
    const db = sqlRunner(client);
    // A claim whose last row is 10 s old (a killed process) blocks nobody.
    await db.exec("CREATE TABLE schema_migration_claims (holder String, at DateTime, released UInt8) ENGINE = Log");
    await db.exec("INSERT INTO schema_migration_claims (holder, at, released) SELECT 'killed', now() - 10, 0");
    const fast = { ttlS: 5, pollMs: 50, heartbeatMs: 300 };
    const a = await acquireMigrationLease(db, fast);
    const waits: string[] = [];
    let bHeld = false;
    const b = acquireMigrationLease(db, { ...fast, onWait: (h) => waits.push(h) }).then((l) => ((bHeld = true), l));
    await sleep(1_500);
    expect(bHeld).toBe(false);
    expect(waits).toEqual([a.holder]);
    await a.assertHeld();
    await a.release();
    const lb = await b;
    await lb.assertHeld();
    // lb renews its claim while it works: a candidate that counts a claim dead after 2 s still waits after 3 s.
    let cHeld = false;
    // c's timers stop once it holds the lease (its process stalls).
    let stalled = false;
    const stalling: Clock = { ...systemClock, setTimeout: (fn, ms) => systemClock.setTimeout(() => stalled || fn(), ms) };
    const c = acquireMigrationLease(db, { ...fast, ttlS: 2, heartbeatMs: 300, clock: stalling }).then((l) => ((cHeld = true), (stalled = true), l));
    await sleep(3_000);
    expect(cHeld).toBe(false);
    await lb.release();
    const lc = await c;
    // lc no longer renews: the next candidate takes the lease after 2 s,
    // and lc learns it no longer holds it.
    const ld = await acquireMigrationLease(db, { ...fast, ttlS: 2 });
    await expect(lc.assertHeld()).rejects.toThrow(new RegExp(`lease passed from ${lc.holder} to ${ld.holder}`));
    await ld.assertHeld();
    await Promise.all([lc.release(), ld.release()]);
    await client.close();
  });
});
