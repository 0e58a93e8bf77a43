import { describe, expect, it } from "vitest";
import type { ClickHouseClient } from "@clickhouse/client";
import { SimClock } from "../../base/testing/sim-clock.js";
import { rowBatchOf } from "../../domain/row-batch.js";
import { ClickHouseSink } from "./sink.js";

/**
 * When the sink's inserts start and when its writes resolve, on a client whose inserts finish only
 * when the test says (an in-memory stand-in for the logic; the real ClickHouse is in
 * test/integration/clickhouse-sink.test.ts).
 */
function heldClient() {
  const inserts: Array<{ rows: number; done(): void; fail(e: Error): void }> = [];
  const client = {
    insert({ values }: { values: unknown[] }) {
      return new Promise((resolve, reject) => inserts.push({ rows: values.length, done: () => resolve({}), fail: reject }));
    },
    async close() {},
  };
  return { client: client as unknown as ClickHouseClient, inserts };
}

const rows = (n: number) => new Map([["t", rowBatchOf(Array.from({ length: n }, (_, i) => ({ i })))]]);
const opts = { url: "http://unused", database: "d", username: "u", password: "", flushRows: 1000, flushIntervalMs: 100, retryMinMs: 10, feeds: new Map<string, string>() };

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe("ClickHouseSink: when inserts start", () => {
  it("one at a time by default: rows that came during a slow insert wait for it, then go together", async () => {
    const clock = new SimClock();
    const { client, inserts } = heldClient();
    const sink = ClickHouseSink.create(opts, clock, undefined, client);
    // Nothing inserted for an interval: the first insert starts at once.
    const first = sink.write(rows(2));
    await clock.advance(0);
    expect(inserts.map((i) => i.rows)).toEqual([2]);
    const second = sink.write(rows(3));
    const third = sink.write(rows(4));
    await clock.advance(500);
    expect(inserts.map((i) => i.rows)).toEqual([2]);
    inserts[0]!.done();
    await first;
    await settle();
    await clock.advance(0);
    // The next starts at once: its interval since the last start has passed.
    expect(inserts.map((i) => i.rows)).toEqual([2, 7]);
    inserts[1]!.done();
    await Promise.all([second, third]);
  });

  it("flushRows pending start an insert at once; flush() sends what waits as soon as the running insert is done, and waits for both", async () => {
    const clock = new SimClock();
    const { client, inserts } = heldClient();
    const sink = ClickHouseSink.create(opts, clock, undefined, client);
    void sink.write(rows(10));
    await clock.advance(0);
    expect(inserts.map((i) => i.rows)).toEqual([10]);
    inserts[0]!.done();
    await settle();
    void sink.write(rows(1000));
    await settle();
    // Its interval since the last start has not passed, but flushRows are waiting.
    expect(inserts.map((i) => i.rows)).toEqual([10, 1000]);
    void sink.write(rows(5));
    let flushed = false;
    const f = sink.flush().then(() => (flushed = true));
    await settle();
    expect(inserts).toHaveLength(2);
    inserts[1]!.done();
    await settle();
    expect(inserts.map((i) => i.rows)).toEqual([10, 1000, 5]);
    expect(flushed).toBe(false);
    inserts[2]!.done();
    await f;
    expect(flushed).toBe(true);
    expect(sink.stats).toMatchObject({ rowsWritten: 1015, inserts: 3, pendingRows: 0 });
  });

  it("tells each accepted insert's time and rows (not those of a failed attempt)", async () => {
    const clock = new SimClock();
    const { client, inserts } = heldClient();
    const told: Array<[number, number]> = [];
    const sink = ClickHouseSink.create({ ...opts, onInsert: (ms, n) => told.push([ms, n]) }, clock, undefined, client);
    const w = sink.write(rows(3));
    await clock.advance(0);
    await clock.advance(40);
    inserts[0]!.fail(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    await settle();
    await clock.advance(10); // the retry's backoff
    expect(inserts).toHaveLength(2);
    await clock.advance(25);
    inserts[1]!.done();
    await w;
    expect(told).toEqual([[25, 3]]);
  });
});
