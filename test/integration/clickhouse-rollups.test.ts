import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import type { ClickHouseClient } from "@clickhouse/client";
import { createClickHouseClient, migrate, migrations, reconcileRollups, sqlRunner, sqlString, StoreRepair } from "../../src/adapters/clickhouse/index.js";
import { backfillRollups } from "../../src/adapters/clickhouse/rollups.js";
import { insertEncoded } from "../../src/adapters/clickhouse/encoded-rows.js";
import { systemClock } from "../../src/base/clock.js";
import { RowBinaryWriter } from "../../src/domain/row-binary.js";
import { READINGS_FEED_TABLE, READINGS_SCHEMA, READINGS_TABLE } from "../../src/domain/tables.js";
import type { LoggedRows, RowLog } from "../../src/ports/row-log.js";
import type { Row } from "../../src/ports/row-sink.js";
import { startClickHouse } from "../harness/index.js";
import { chQuery, quietLogger, waitFor } from "../support/pipeline.js";

/**
 * The rollups on a real ClickHouse (18.16 here): views, backfill, the reconciler that keeps them
 * equal to the deduplicated readings despite rows inserted twice, device_status
 * (docs/adr/0013-rollups-and-retention.md).
 */
let ch: Awaited<ReturnType<typeof startClickHouse>>;
let client: ClickHouseClient;
const database = "rollups_test";
const opts = (db = database) => ({ url: ch.url, database: db, username: "default", password: "" });
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

beforeAll(async () => {
  ch = await startClickHouse();
  await migrate(opts());
  client = createClickHouseClient(opts());
}, 90_000);

afterAll(async () => {
  await client?.close();
  await ch?.cleanup();
});

interface Reading {
  device: string;
  epoch: number;
  seq: number;
  tsMs: number;
  metrics: Array<[string, number, number]>;
}
const rowOf = (r: Reading, i: number): Row => ({
  device_id: r.device,
  epoch: r.epoch,
  seq: r.seq,
  ts_ms: r.tsMs,
  metric_names: r.metrics.map((m) => m[0]),
  metric_values: r.metrics.map((m) => m[1]),
  metric_scores: r.metrics.map((m) => m[2]),
  score: 0,
  log: "",
  stream_seq: i,
});

/**
 * Insert readings as the sink does (RowBinary: doubles exact; 18.16 parses JSON floats to a nearby
 * double): into readings, then the same rows into readings_feed, whose views keep the rollups
 * (`feed: false` before migration 18 or to leave them to the reconciler).
 */
async function insert(rows: Row[], db = database, feed = true): Promise<void> {
  if (rows.length === 0) return;
  const c = db === database ? client : createClickHouseClient(opts(db));
  const b = new RowBinaryWriter(READINGS_SCHEMA).encode(rows).binary!;
  for (const table of feed ? [READINGS_TABLE, READINGS_FEED_TABLE] : [READINGS_TABLE]) {
    await insertEncoded(c, table, "RowBinary", READINGS_SCHEMA.columns.map((col) => col.name), b.chunks);
  }
  if (c !== client) await c.close();
}

/** Wait until ClickHouse's clock is past the ingest time of every reading by more than `s` seconds (the settle rule). */
async function settled(s: number, db = database): Promise<void> {
  await waitFor(() => chQuery<{ ok: number }>(ch.url, db, `SELECT toUInt8(now() > max(ingested_at) + ${s}) AS ok FROM readings`), (r) => Number(r[0]?.ok) === 1, 10_000, "readings to settle");
}

interface Agg {
  device_id: string;
  metric: string;
  bucket: number;
  n: number;
  min: number;
  max: number;
  sum: number;
  sumsq: number;
  score: number;
}
const AGG = "toInt64(sum(n)) AS n, min(mn) AS min, max(mx) AS max, sum(s) AS sum, sum(ss) AS sumsq, max(sc) AS score";

/** A rollup table's merged values in [from, to). */
function rollup(table: string, from: number, to: number, db = database): Promise<Agg[]> {
  return chQuery<Omit<Agg, "bucket"> & { bucket_ms: number }>(
    ch.url,
    db,
    `SELECT device_id, metric, toUInt32(bucket) * 1000 AS bucket_ms, sumMerge(samples) AS n, minMerge(min_value) AS min, maxMerge(max_value) AS max,
       sumMerge(sum_value) AS sum, sumMerge(sum_squares) AS sumsq, maxMerge(max_score) AS score
     FROM ${table} WHERE bucket >= toDateTime(${from / 1000}) AND bucket < toDateTime(${to / 1000})
     GROUP BY device_id, metric, bucket ORDER BY device_id, metric, bucket`,
  ).then((rows) => norm(rows.map(({ bucket_ms, ...r }) => ({ ...r, bucket: bucket_ms }))));
}

/** The same aggregates computed by ClickHouse over the deduplicated readings (GROUP BY the key first). */
function rawDedup(bucketMs: number, from: number, to: number, db = database): Promise<Agg[]> {
  return chQuery<Agg>(
    ch.url,
    db,
    `SELECT device_id, metric, bucket, ${AGG} FROM (
       SELECT device_id, names[i] AS metric, intDiv(ts_ms, ${bucketMs}) * ${bucketMs} AS bucket, 1 AS n, vals[i] AS mn, vals[i] AS mx, vals[i] AS s, vals[i] * vals[i] AS ss, scores[i] AS sc
       FROM (SELECT device_id, ts_ms, any(metric_names) AS names, any(metric_values) AS vals, any(metric_scores) AS scores FROM readings
             WHERE ts_ms >= ${from} AND ts_ms < ${to} GROUP BY device_id, epoch, seq, ts_ms)
       ARRAY JOIN arrayEnumerate(names) AS i)
     GROUP BY device_id, metric, bucket ORDER BY device_id, metric, bucket`,
  ).then(norm);
}

/** The same aggregates computed here from the readings without their duplicates (ground truth). */
function expected(unique: Reading[], bucketMs: number): Agg[] {
  const m = new Map<string, Agg>();
  for (const r of unique) {
    for (const [metric, v, sc] of r.metrics) {
      const bucket = Math.floor(r.tsMs / bucketMs) * bucketMs;
      const k = `${r.device}|${metric}|${bucket}`;
      const a = m.get(k) ?? { device_id: r.device, metric, bucket, n: 0, min: Infinity, max: -Infinity, sum: 0, sumsq: 0, score: -Infinity };
      m.set(k, { ...a, n: a.n + 1, min: Math.min(a.min, v), max: Math.max(a.max, v), sum: a.sum + v, sumsq: a.sumsq + v * v, score: Math.max(a.score, sc) });
    }
  }
  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  return [...m.values()].sort((a, b) => cmp(a.device_id, b.device_id) || cmp(a.metric, b.metric) || a.bucket - b.bucket);
}

const norm = (rows: Agg[]): Agg[] => rows.map((r) => ({ ...r, bucket: Number(r.bucket), n: Number(r.n) }));

/** Equal: counts, min, max and max score exactly; sums within a tolerance relative to their magnitude. */
function expectSame(actual: Agg[], want: Agg[], what: string): void {
  const key = (a: Agg) => `${a.device_id}|${a.metric}|${a.bucket}`;
  expect(actual.map(key), what).toEqual(want.map(key));
  actual.forEach((a, i) => {
    const w = want[i]!;
    expect({ n: a.n, min: a.min, max: a.max, score: a.score }, `${what} ${key(a)}`).toEqual({ n: w.n, min: w.min, max: w.max, score: w.score });
    // Σ|v| <= sqrt(n Σv²): the magnitude the sum's rounding is relative to.
    expect(Math.abs(a.sum - w.sum), `${what} ${key(a)} sum ${a.sum} vs ${w.sum}`).toBeLessThanOrEqual(1e-9 * (1 + Math.sqrt(w.n * w.sumsq)));
    expect(Math.abs(a.sumsq - w.sumsq), `${what} ${key(a)} sumsq ${a.sumsq} vs ${w.sumsq}`).toBeLessThanOrEqual(1e-9 * (1 + w.sumsq));
  });
}

/** Unique readings (by key) of a few devices and metrics over ~3 hours from 0 (add a base), exact duplicates of some, shuffled into batches. */
function scenario() {
  const reading = fc.record({
    device: fc.constantFrom("d1", "d2", "dev'3"),
    epoch: fc.integer({ min: 1, max: 2 }),
    seq: fc.integer({ min: 1, max: 40 }),
    offsetMs: fc.integer({ min: 0, max: 3 * HOUR }),
    metrics: fc.uniqueArray(fc.tuple(fc.constantFrom("temp", "hum", "p"), fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 1, maxLength: 3, selector: (m) => m[0] }),
  });
  return fc
    .record({
      unique: fc.uniqueArray(reading, { minLength: 1, maxLength: 60, size: "+1", selector: (r) => `${r.device}|${r.epoch}|${r.seq}|${r.offsetMs}` }),
      dupPicks: fc.array(fc.nat(), { maxLength: 25, size: "+1" }),
      order: fc.array(fc.nat(), { minLength: 90, maxLength: 90 }),
      batches: fc.integer({ min: 1, max: 5 }),
      merged: fc.boolean(),
    })
    .map(({ unique, dupPicks, order, batches, merged }) => {
      const readings: Reading[] = unique.map((u) => ({ device: u.device, epoch: u.epoch, seq: u.seq, tsMs: u.offsetMs, metrics: u.metrics }));
      const all = [...readings, ...dupPicks.map((p) => readings[p % readings.length]!)];
      // Shuffle (out-of-order seq), then cut into insert batches.
      const shuffled = all.map((r, i) => ({ r, k: order[i % order.length]! * 1000 + i })).sort((a, b) => a.k - b.k).map((x) => x.r);
      const size = Math.ceil(shuffled.length / batches);
      const inserts = Array.from({ length: batches }, (_, b) => shuffled.slice(b * size, (b + 1) * size)).filter((b) => b.length > 0);
      // merged: ClickHouse has already replaced the copies (OPTIMIZE … FINAL) before the reconciler runs.
      return { readings, inserts, duplicates: dupPicks.length, merged };
    });
}

describe("rollups (real ClickHouse)", () => {
  it("sqlString sends any string unchanged (quotes, backslashes, NUL, newlines, UTF-8)", async () => {
    const values = ["pump-17", "it's", "a\\b", "\\'", "x\0y", "line\nnext\ttab", "ünï 😀", "'; DROP TABLE readings; --"];
    const rows = await chQuery<{ v: string[] }>(ch.url, database, `SELECT [${values.map(sqlString).join(", ")}] AS v`);
    expect(rows[0]!.v).toEqual(values);
  });

  it("property: after reconciling, every minute and hour equals the deduplicated readings, duplicates and shuffled seqs included", async () => {
    let run = 0;
    let corrected = 0;
    let withDuplicates = 0;
    await fc.assert(
      fc.asyncProperty(scenario(), fc.context(), async (s, ctx) => {
        // Each run in its own days: runs do not see each other's readings.
        const base = Date.UTC(2024, 0, 1) + run++ * 3 * DAY;
        ctx.log(`${s.readings.length} readings, ${s.duplicates} duplicates, ${s.inserts.length} inserts${s.merged ? ", merged" : ""}`);
        const at = (r: Reading): Reading => ({ ...r, tsMs: base + r.tsMs });
        s = { ...s, readings: s.readings.map(at), inserts: s.inserts.map((b) => b.map(at)) };
        let i = 0;
        for (const b of s.inserts) await insert(b.map((r) => rowOf(r, i++)));
        if (s.merged) await fetch(`${ch.url}/?database=${database}`, { method: "POST", body: "OPTIMIZE TABLE readings FINAL" });
        await settled(1);
        const from = base - HOUR;
        const to = base + 4 * HOUR;
        const n = await reconcileRollups(client, from, to, { settleMs: 1000 });
        corrected += n;
        if (s.duplicates > 0) withDuplicates++;
        if (s.duplicates > 0) expect(n).toBeGreaterThan(0);
        for (const [table, bucketMs] of [["readings_1m", MINUTE], ["readings_1h", HOUR]] as const) {
          const want = expected(s.readings, bucketMs);
          expectSame(await rawDedup(bucketMs, from, to), want, `raw ${table}`);
          expectSame(await rollup(table, from, to), want, table);
        }
        // Nothing left to correct.
        expect(await reconcileRollups(client, from, to, { settleMs: 1000 })).toBe(0);
      }),
      { numRuns: 15, seed: 20251204, endOnFailure: true },
    );
    expect(withDuplicates).toBeGreaterThan(5);
    expect(corrected).toBeGreaterThan(0);
  }, 240_000);

  it("without duplicates the feed's views alone agree with the readings (nothing to correct)", async () => {
    const base = Date.UTC(2023, 5, 1);
    const largest = fc.sample(scenario(), { numRuns: 10, seed: 42 }).sort((a, b) => b.readings.length - a.readings.length)[0]!;
    const readings = largest.readings.map((r) => ({ ...r, tsMs: base + r.tsMs })).reverse();
    expect(readings.length).toBeGreaterThan(15);
    // The distinct readings only, in three inserts.
    const third = Math.ceil(readings.length / 3);
    for (let k = 0; k < 3; k++) await insert(readings.slice(k * third, (k + 1) * third).map(rowOf));
    const from = base - HOUR;
    const to = base + 4 * HOUR;
    for (const [table, bucketMs] of [["readings_1m", MINUTE], ["readings_1h", HOUR]] as const) {
      expectSame(await rollup(table, from, to), expected(readings, bucketMs), table);
    }
    await settled(1);
    expect(await reconcileRollups(client, from, to, { settleMs: 1000 })).toBe(0);
  });

  it("readings whose copies never reached the feed (a process died first) are added by the reconciler", async () => {
    const base = Date.UTC(2023, 6, 1, 10);
    const all: Reading[] = Array.from({ length: 50 }, (_, k) => ({ device: "lost", epoch: 1, seq: k + 1, tsMs: base + k * 7_000, metrics: [["temp", 10 + k * 0.75, k / 50]] }));
    await insert(all.slice(0, 30).map(rowOf));
    await insert(all.slice(30).map(rowOf), database, false);
    const [from, to] = [base - HOUR, base + 2 * HOUR];
    expect((await rollup("readings_1m", from, to)).reduce((a, r) => a + r.n, 0)).toBe(30);
    await settled(1);
    expect(await reconcileRollups(client, from, to, { settleMs: 1000 })).toBeGreaterThan(0);
    for (const [table, bucketMs] of [["readings_1m", MINUTE], ["readings_1h", HOUR]] as const) {
      expectSame(await rollup(table, from, to), expected(all, bucketMs), `${table} after reconciling`);
    }
  });

  it("a repair that inserts a window again reconciles the minutes of its readings", async () => {
    const base = Date.UTC(2019, 8, 1, 10); // a year of its own: its rollup partitions are dropped below
    const rows = Array.from({ length: 50 }, (_, k) => rowOf({ device: "rep", epoch: 1, seq: k + 1, tsMs: base + k * 17_000, metrics: [["temp", 20 + k / 3, k / 50]] }, k));
    await insert(rows);
    const before = await rollup("readings_1m", base, base + HOUR);
    const b = new RowBinaryWriter(READINGS_SCHEMA).encode(rows).binary!;
    const entry: LoggedRows = { table: "readings", format: "RowBinary", columns: READINGS_SCHEMA.columns.map((c) => c.name), rows: b.rows, chunks: b.chunks, atMs: Date.now() };
    const rowLog: RowLog = { maxEntryBytes: 1 << 20, async append() {}, async *read() { yield entry; } };
    const repair = new StoreRepair(createClickHouseClient(opts()), rowLog, { clock: systemClock, log: quietLogger("repair"), incidents: { report() {}, degradedReason: () => "" }, lastAcceptedInsertAt: () => 0 }, { node: "t", lookbackMs: 1000, checkEveryMs: 1000, rollups: { settleMs: 1000 } });
    // The window inserted again into readings only (not the feed): the rollups need no correction.
    const again = await repair.repair(0, Date.now(), "test");
    expect(again.reinserted).toBe(50);
    expect(again.rollupBuckets).toBe(0);
    expectSame(await rollup("readings_1m", base, base + HOUR), before, "after the repair");
    // The rollups' parts lost too (a power loss): the repair's reconciling brings every bucket back.
    for (const table of ["readings_1m", "readings_1h"]) await client.command({ query: `ALTER TABLE ${table} DROP PARTITION ${table === "readings_1m" ? "201909" : "2019"}` });
    expect(await rollup("readings_1m", base, base + HOUR)).toEqual([]);
    const report = await repair.repair(0, Date.now(), "test");
    await repair.close();
    expect(report.reinserted).toBe(50);
    expect(report.rollupBuckets).toBe(before.length);
    expectSame(await rollup("readings_1m", base, base + HOUR), before, "after the second repair");
    expect((await rollup("readings_1h", base, base + HOUR)).map((r) => r.n)).toEqual([50]);
  });

  it("device_status: first and last seen, readings, last epoch and seq, last lifecycle event", async () => {
    const t = Date.UTC(2023, 10, 1);
    await insert([
      rowOf({ device: "st1", epoch: 1, seq: 9, tsMs: t + 5000, metrics: [["temp", 1, 0]] }, 1),
      rowOf({ device: "st1", epoch: 2, seq: 1, tsMs: t + 9000, metrics: [["temp", 2, 0]] }, 2),
      rowOf({ device: "st1", epoch: 1, seq: 8, tsMs: t + 1000, metrics: [["temp", 3, 0]] }, 3),
    ]);
    const events = (rows: Array<[string, string, number]>) =>
      client.insert({ table: "device_events", values: rows.map(([device_id, kind, at_ms]) => ({ device_id, kind, epoch: 1, at_ms, last_seq: 0, detail: "" })), format: "JSONEachRow" });
    await events([["st1", "online", t], ["st1", "restarted", t + 9000], ["st2", "online", t]]);
    await events([["st1", "offline", t + 400_000], ["st2", "offline", t - 5]]);
    const status = await chQuery<Record<string, unknown>>(
      ch.url,
      database,
      `SELECT device_id, minMerge(first_seen_ms) AS first, maxMerge(last_seen_ms) AS last, sumMerge(readings) AS readings, argMaxMerge(last_epoch) AS epoch,
         argMaxMerge(last_seq) AS seq, argMaxMerge(last_event_kind) AS event, maxMerge(last_event_at_ms) AS event_at
       FROM device_status WHERE device_id IN (${sqlString("st1")}, ${sqlString("st2")}) GROUP BY device_id ORDER BY device_id`,
    );
    expect(status).toEqual([
      { device_id: "st1", first: String(t + 1000), last: String(t + 9000), readings: "3", epoch: "2", seq: "1", event: "offline", event_at: String(t + 400_000) },
      { device_id: "st2", first: "0", last: "0", readings: "0", epoch: "0", seq: "0", event: "online", event_at: String(t) },
    ]);
  });
});

describe("rollup migrations (real ClickHouse)", () => {
  it("run twice, and from a database at version 9 with readings: the backfill counts each reading once, however often it runs", async () => {
    const db = "rollups_migrate";
    expect((await migrate(opts(db), migrations.filter((m) => m.version <= 9))).current).toBe(9);
    const base = Date.UTC(2022, 2, 3);
    const readings: Reading[] = Array.from({ length: 40 }, (_, k) => ({ device: `m${k % 3}`, epoch: 1, seq: k, tsMs: base + k * 97_000, metrics: [["temp", k * 1.25, k / 40], ["hum", 50 - k, 0.5]] }));
    // Stored twice (a replay before the rollups existed): the backfill deduplicates.
    await insert(readings.map(rowOf), db, false);
    await insert(readings.slice(0, 10).map(rowOf), db, false);
    await fetch(`${ch.url}/?database=${db}`, { method: "POST", body: "INSERT INTO device_events (device_id, kind, epoch, at_ms, last_seq, detail) VALUES ('m1', 'online', 1, 5, 0, '')" });
    const reports = await Promise.all([migrate(opts(db)), migrate(opts(db))]);
    const last = migrations.at(-1)!.version;
    expect(reports.map((r) => r.current)).toEqual([last, last]);
    expect((await migrate(opts(db))).applied).toEqual([]);
    const check = async () => {
      for (const [table, bucketMs] of [["readings_1m", MINUTE], ["readings_1h", HOUR]] as const) {
        expectSame(await rollup(table, base - DAY, base + DAY, db), expected(readings, bucketMs), `${table} after backfill`);
      }
    };
    await check();
    // The backfill procedure again (a migration re-run after a crash): still once.
    const c = createClickHouseClient(opts(db));
    await backfillRollups(sqlRunner(c));
    await c.close();
    await check();
    const status = await chQuery<{ d: string; n: string; e: string }>(ch.url, db, "SELECT device_id AS d, sumMerge(readings) AS n, argMaxMerge(last_event_kind) AS e FROM device_status GROUP BY device_id ORDER BY d");
    expect(status).toEqual([
      { d: "m0", n: "14", e: "" },
      { d: "m1", n: "13", e: "online" },
      { d: "m2", n: "13", e: "" },
    ]);
    // New readings after the migration go through the views.
    await insert([rowOf({ device: "m0", epoch: 1, seq: 1000, tsMs: base + 5 * MINUTE + 1, metrics: [["temp", 7, 0.9]] }, 0)], db);
    const m = await rollup("readings_1m", base + 5 * MINUTE, base + 6 * MINUTE, db);
    expect(m.find((r) => r.device_id === "m0" && r.metric === "temp")).toMatchObject({ n: 1, max: 7, score: 0.9 });
    const left = await chQuery<{ name: string }>(ch.url, db, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE '%backfill%'");
    expect(left).toEqual([]);
  });
});
