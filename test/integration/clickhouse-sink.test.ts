import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClickHouseSink, migrate, type StorageError } from "../../src/adapters/clickhouse/index.js";
import { systemClock } from "../../src/adapters/system/clock.js";
import { rowBatchOf, serialiseRows, type Row, type RowBatch } from "../../src/ports/row-sink.js";
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

describe("ClickHouseSink (real ClickHouse)", () => {
  it("inserts rows serialised in worker threads (JSONEachRow text) and row objects alike, counting every row", async () => {
    const sink = ClickHouseSink.create({ ...opts(), flushRows: 1_000_000, flushIntervalMs: 50 }, systemClock);
    const text = serialiseRows(Array.from({ length: 300 }, (_, i) => reading("text", i + 1)));
    const objects = rowBatchOf(Array.from({ length: 200 }, (_, i) => reading("objects", i + 1)));
    await Promise.all([sink.write(readingsOf(text)), sink.write(readingsOf(objects))]);
    expect(sink.stats.rowsWritten).toBe(500);
    expect(sink.stats.pendingRows).toBe(0);
    const got = await chQuery<{ device_id: string; n: string; names: string[]; log: string; v: number[] }>(
      ch.url,
      database,
      "SELECT device_id, toString(count()) AS n, any(metric_names) AS names, any(log) AS log, any(metric_values) AS v FROM readings GROUP BY device_id ORDER BY device_id",
    );
    expect(got).toEqual([
      { device_id: "objects", n: "200", names: ["temp", 'ünï"cødé\n'], log: 'a "log"\nline', v: [20.5, -0.125] },
      { device_id: "text", n: "300", names: ["temp", 'ünï"cødé\n'], log: 'a "log"\nline', v: [20.5, -0.125] },
    ]);
    await sink.close();
  });

  it("isolates a write ClickHouse rejects permanently: the other writes of the same flush land", async () => {
    const sink = ClickHouseSink.create({ ...opts(), flushRows: 1_000_000, flushIntervalMs: 50 }, systemClock);
    const good1 = serialiseRows([reading("good1", 1), reading("good1", 2)]);
    const bad = serialiseRows([reading("bad", 1), { ...reading("bad", 2), seq: "not a number" }]);
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
});
