import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClickHouseSink, migrate, type StorageError } from "../../src/adapters/clickhouse/index.js";
import { systemClock } from "../../src/base/clock.js";
import { ANALYSES_SCHEMA, ANALYSES_TABLE, READINGS_SCHEMA, READINGS_TABLE } from "../../src/domain/tables.js";
import { RowBinaryWriter } from "../../src/domain/row-binary.js";
import { type Row, type RowBatch } from "../../src/ports/row-sink.js";
import { rowBatch, rowBatchOf } from "../../src/domain/row-batch.js";
import { startClickHouse } from "../harness/index.js";
import { chQuery } from "../support/pipeline.js";

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
  return { device_id: device, seq, ts_ms: 1_700_000_000_000 + seq, metric_names: ["temp", "ünï\"cødé\n"], metric_values: [20.5, -0.125], metric_scores: [0.25, 1], score: 1, log: 'a "log"\nline', stream_seq: seq };
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
    ] as const) {
      const cols = await chQuery<{ name: string; type: string; default_type: string }>(ch.url, database, `DESCRIBE TABLE ${table}`);
      expect(cols.filter((c) => c.default_type !== "MATERIALIZED").map((c) => ({ name: c.name, type: c.type }))).toEqual(schema.columns);
    }
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
});
