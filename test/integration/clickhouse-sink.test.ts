import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClickHouseSink, createClickHouseClient, migrate, sqlRunner, type StorageError } from "../../src/adapters/clickhouse/index.js";
import { createClickHouseReadModel } from "../../src/adapters/clickhouse/read-model.js";
import { acquireMigrationLease } from "../../src/adapters/clickhouse/migration-lease.js";
import { migrations } from "../../src/adapters/clickhouse/migrations.js";
import { rekey } from "../../src/adapters/clickhouse/migration-steps.js";
import { sleep, systemClock } from "../../src/base/clock.js";
import type { Clock } from "../../src/ports/clock.js";
import type { RowLog, RowLogEntry } from "../../src/ports/row-log.js";
import { ANALYSIS_INCIDENT_SQL, ANALYSIS_KEY_SQL, ANALYSES_SCHEMA, ANALYSES_TABLE, ANOMALY_WINDOWS_SCHEMA, ANOMALY_WINDOWS_TABLE, DEVICE_EVENTS_SCHEMA, DEVICE_EVENTS_TABLE, READINGS_SCHEMA, READINGS_TABLE } from "../../src/domain/tables.js";
import { RowBinaryWriter } from "../../src/domain/row-binary.js";
import { type Row, type RowBatch } from "../../src/ports/row-sink.js";
import { rowBatch, rowBatchOf } from "../../src/domain/row-batch.js";
import { startClickHouse } from "../harness/index.js";
import { chQuery } from "../support/pipeline.js";

/** A small table keyed (device_id, seq), for the rebuild tests to give the key (device_id, seq, ts_ms). */
const REKEY_COLUMNS = `device_id String,
  seq UInt64,
  ts_ms Int64,
  ts DateTime MATERIALIZED toDateTime(intDiv(ts_ms, 1000)),
  ingested_at DateTime MATERIALIZED now()`;
const rekeyTable = (name: string) => `CREATE TABLE ${name} (${REKEY_COLUMNS}) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(ts) ORDER BY (device_id, seq)`;

let ch: Awaited<ReturnType<typeof startClickHouse>>;
const database = "sink_test";
const opts = () => ({ url: ch.url, database, username: "default", password: "" });

beforeAll(async () => {
  ch = await startClickHouse();
  await migrate(opts());
}, 90_000);

afterAll(async () => {
  await ch?.cleanup();
});

function reading(device: string, seq: number): Row {
  return { device_id: device, epoch: 0, seq, ts_ms: 1_700_000_000_000 + seq, metric_names: ["temp", "ünï\"cødé\n"], metric_values: [20.5, -0.125], metric_scores: [0.25, 1], score: 1, log: 'a "log"\nline', stream_seq: seq };
}

const readingsOf = (b: RowBatch) => new Map([["readings", b]]);
/** Rows as a host encodes them (RowBinary for rows that fit the schema, objects for the rest). */
function encoded(rows: Row[]): RowBatch {
  const { binary, rejected } = new RowBinaryWriter(READINGS_SCHEMA).encode(rows);
  return rowBatch(binary, rejected);
}

describe("ClickHouseSink (real ClickHouse)", () => {
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

  it("inserts RowBinary rows byte-exact: full-precision doubles, NaN, 2^53-1, negative Int64, UTF-8", async () => {
    const sink = ClickHouseSink.create({ ...opts(), flushRows: 1_000_000, flushIntervalMs: 50 }, systemClock);
    const exact: Row = { ...reading("exact", Number.MAX_SAFE_INTEGER), ts_ms: -1_234_567_890_123, metric_values: [Math.PI, 1e-300, -0, 0.1 + 0.2], metric_scores: [NaN, Infinity, -Infinity, 5e-324], metric_names: ["a", "ß", "日本", "🙂"], score: 2 / 3 };
    const b = encoded([exact]);
    expect(b.binary?.rows).toBe(1);
    await sink.write(readingsOf(b));
    const got = await chQuery<Record<string, unknown>>(
      ch.url,
      database,
      "SELECT toString(seq) AS seq, toString(ts_ms) AS ts, metric_values AS v, arrayMap(x -> toString(x), metric_scores) AS s, metric_names AS names, score FROM readings WHERE device_id = 'exact'",
    );
    expect(got).toEqual([{ seq: String(Number.MAX_SAFE_INTEGER), ts: "-1234567890123", v: [Math.PI, 1e-300, -0, 0.1 + 0.2], s: ["nan", "inf", "-inf", "5e-324"], names: ["a", "ß", "日本", "🙂"], score: 2 / 3 }]);
    await sink.close();
  });

  it("inserts rows encoded in the hosts (RowBinary) and row objects alike, counting every row", async () => {
    const sink = ClickHouseSink.create({ ...opts(), flushRows: 1_000_000, flushIntervalMs: 50 }, systemClock);
    const text = encoded(Array.from({ length: 300 }, (_, i) => reading("text", i + 1)));
    expect(text.binary?.rows).toBe(300);
    const objects = rowBatchOf(Array.from({ length: 200 }, (_, i) => reading("objects", i + 1)));
    await Promise.all([sink.write(readingsOf(text)), sink.write(readingsOf(objects))]);
    expect(sink.stats.rowsWritten).toBe(500);
    expect(sink.stats.pendingRows).toBe(0);
    const got = await chQuery<{ device_id: string; n: string; names: string[]; log: string; v: number[] }>(
      ch.url,
      database,
      "SELECT device_id, toString(count()) AS n, any(metric_names) AS names, any(log) AS log, any(metric_values) AS v FROM readings WHERE device_id IN ('text', 'objects') GROUP BY device_id ORDER BY device_id",
    );
    expect(got).toEqual([
      { device_id: "objects", n: "200", names: ["temp", 'ünï"cødé\n'], log: 'a "log"\nline', v: [20.5, -0.125] },
      { device_id: "text", n: "300", names: ["temp", 'ünï"cødé\n'], log: 'a "log"\nline', v: [20.5, -0.125] },
    ]);
    await sink.close();
  });

  it("copies accepted readings to readings_feed at the lazy interval: the rollups and device_status follow, the row log has readings only", async () => {
    const logged: RowLogEntry[] = [];
    const rowLog: RowLog = { maxEntryBytes: 1 << 20, async append(e) { logged.push(...e); }, async *read() {} };
    const sink = ClickHouseSink.create({ ...opts(), flushRows: 1_000_000, flushIntervalMs: 20, lazyFlushIntervalMs: 300 }, systemClock, rowLog);
    const rollup = () => chQuery<{ n: string }>(ch.url, database, "SELECT toString(sumMerge(samples)) AS n FROM readings_1m WHERE device_id = 'fed'");
    const status = () => chQuery<{ n: string; last: string }>(ch.url, database, "SELECT toString(sumMerge(readings)) AS n, toString(maxMerge(last_seen_ms)) AS last FROM device_status WHERE device_id = 'fed'");
    await sink.write(readingsOf(encoded(Array.from({ length: 40 }, (_, i) => reading("fed", i + 1)))));
    await sink.write(readingsOf(rowBatchOf(Array.from({ length: 10 }, (_, i) => reading("fed", 41 + i)))));
    // Both writes resolved (inserted and logged); their copies wait for the feed's interval.
    expect(sink.stats.pendingFeedRows + sink.stats.feedRows).toBe(50);
    await sink.flush();
    expect(sink.stats).toMatchObject({ rowsWritten: 50, feedRows: 50, pendingFeedRows: 0, feedRowsDropped: 0 });
    expect(await rollup()).toEqual([{ n: "100" }]); // two metrics per reading
    expect(await status()).toEqual([{ n: "50", last: String(1_700_000_000_000 + 50) }]);
    expect(new Set(logged.map((e) => e.table))).toEqual(new Set(["readings"]));
    await sink.close();
  });

  it("a feed ClickHouse refuses (its table gone) is dropped and counted, and never holds back the readings' writes", async () => {
    const losses: Array<[string, number]> = [];
    const sink = ClickHouseSink.create({ ...opts(), flushRows: 1_000_000, flushIntervalMs: 20, feeds: new Map([["readings", "no_such_feed"]]), onFeedLoss: (reason, rows) => losses.push([reason, rows]) }, systemClock);
    await sink.write(readingsOf(encoded([reading("unfed", 1), reading("unfed", 2)])));
    await sink.flush();
    expect(sink.stats).toMatchObject({ rowsWritten: 2, feedRows: 0, feedRowsDropped: 2, feedFailures: 1 });
    expect(losses).toHaveLength(1);
    expect(losses[0]![0]).toMatch(/no_such_feed/);
    expect(await chQuery<{ n: string }>(ch.url, database, "SELECT toString(count()) AS n FROM readings WHERE device_id = 'unfed'")).toEqual([{ n: "2" }]);
    await sink.close();
  });

  it("isolates a write ClickHouse rejects permanently: the other writes of the same flush land", async () => {
    const sink = ClickHouseSink.create({ ...opts(), flushRows: 1_000_000, flushIntervalMs: 50 }, systemClock);
    const good1 = encoded([reading("good1", 1), reading("good1", 2)]);
    // The encoder leaves the row that does not fit the schema as an object; ClickHouse refuses it.
    const bad = encoded([reading("bad", 1), { ...reading("bad", 2), seq: "not a number" }]);
    expect([bad.binary?.rows, bad.objects.length]).toEqual([1, 1]);
    const good2 = rowBatchOf([reading("good2", 1)]);
    const results = await Promise.allSettled([sink.write(readingsOf(good1)), sink.write(readingsOf(bad)), sink.write(readingsOf(good2))]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const err = (results[1] as PromiseRejectedResult).reason as StorageError;
    expect(err.name).toBe("StorageError");
    expect(err.retryable).toBe(false);
    const got = await chQuery<{ device_id: string; n: string }>(ch.url, database, "SELECT device_id, toString(count()) AS n FROM readings WHERE device_id IN ('good1', 'good2', 'bad') GROUP BY device_id ORDER BY device_id");
    expect(got).toEqual([
      { device_id: "good1", n: "2" },
      { device_id: "good2", n: "1" },
    ]);
    expect(sink.stats.rowsWritten).toBe(3);
    await sink.close();
  });

  it("isolates RowBinary bytes ClickHouse cannot read (truncated): other writes land, the bad one is refused", async () => {
    const sink = ClickHouseSink.create({ ...opts(), flushRows: 1_000_000, flushIntervalMs: 50 }, systemClock);
    const good = encoded([reading("rb-good", 1)]);
    const whole = encoded([reading("rb-cut", 1)]).binary!;
    const cut = rowBatch({ ...whole, chunks: [whole.chunks[0]!.subarray(0, whole.chunks[0]!.length - 3)] }, []);
    const results = await Promise.allSettled([sink.write(readingsOf(good)), sink.write(readingsOf(cut))]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected"]);
    expect(((results[1] as PromiseRejectedResult).reason as StorageError).retryable).toBe(false);
    const got = await chQuery<{ device_id: string }>(ch.url, database, "SELECT device_id FROM readings WHERE device_id LIKE 'rb-%'");
    expect(got).toEqual([{ device_id: "rb-good" }]);
    await sink.close();
  });

  it("with a row log, keeps inserting while the log is held (a leader election): writes resolve once logged, and writers wait at maxPendingRows", async () => {
    // A row log whose appends wait for a gate: what the SHOAL_ROWS stream does while its leader is elected.
    const logged: RowLogEntry[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const rowLog: RowLog = {
      maxEntryBytes: 1 << 20,
      append: async (entries) => {
        await gate;
        logged.push(...entries);
      },
      read: async function* () {},
    };
    const sink = ClickHouseSink.create({ ...opts(), flushRows: 1_000_000, flushIntervalMs: 20, maxPendingRows: 150 }, systemClock, rowLog);
    const settled: string[] = [];
    const write = (device: string, n: number) => sink.write(readingsOf(encoded(Array.from({ length: n }, (_, i) => reading(device, i + 1))))).then(() => void settled.push(device));
    const count = async (device: string) => Number((await chQuery<{ n: string }>(ch.url, database, `SELECT toString(count()) AS n FROM readings WHERE device_id = '${device}'`))[0]!.n);
    const a = write("held-a", 100);
    await waitUntil(async () => (await count("held-a")) === 100);
    const b = write("held-b", 40);
    await waitUntil(async () => (await count("held-b")) === 40);
    // A write is taken while fewer than maxPendingRows (150) are pending or awaiting the log: c is
    // (140), d is not (160) until the log answers.
    const c = write("held-c", 20);
    await waitUntil(async () => (await count("held-c")) === 20);
    const d = write("held-d", 5);
    await sleep(300);
    expect({ settled, d: await count("held-d"), pending: sink.stats.pendingRows }).toEqual({ settled: [], d: 0, pending: 0 });
    open();
    await Promise.all([a, b, c, d]);
    expect(settled.sort()).toEqual(["held-a", "held-b", "held-c", "held-d"]);
    expect(await count("held-d")).toBe(5);
    expect(logged.map((e) => e.rows).sort((x, y) => x - y)).toEqual([5, 20, 40, 100]);
    await sink.close();
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out");
    await sleep(50);
  }
}
