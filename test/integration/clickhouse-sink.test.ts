import { describe, expect, it } from "vitest";
import { ClickHouseSink, type StorageError } from "../../src/adapters/clickhouse/index.js";
import { sleep, systemClock } from "../../src/base/clock.js";
import type { RowLog, RowLogEntry } from "../../src/ports/row-log.js";
import { READINGS_SCHEMA } from "../../src/domain/tables.js";
import { RowBinaryWriter } from "../../src/domain/row-binary.js";
import { type Row, type RowBatch } from "../../src/ports/row-sink.js";
import { rowBatch, rowBatchOf } from "../../src/domain/row-batch.js";
import { migratedClickHouse } from "../support/clickhouse-db.js";
import { chQuery } from "../support/pipeline.js";

const database = "sink_test";
const ch = migratedClickHouse(database);
const opts = ch.opts;

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
