import { describe, expect, it } from "vitest";
import type { ClickHouseClient } from "@clickhouse/client";
import { SimClock } from "../../base/testing/sim-clock.js";
import { DerivedFeed, type DerivedFeedStats } from "./derived-feed.js";

/** A client whose inserts are recorded and fail while `failures` has entries (each used once). */
function fakeClient(failures: Error[] = []) {
  const inserts: Array<{ query: string; bytes: number; rows?: number }> = [];
  const client = {
    async exec({ query, values }: { query: string; values: AsyncIterable<Uint8Array> }) {
      let bytes = 0;
      for await (const c of values) bytes += c.length;
      const f = failures.shift();
      if (f) throw f;
      inserts.push({ query, bytes });
      return { stream: (async function* () {})() };
    },
    async insert({ table, values }: { table: string; values: unknown[] }) {
      const f = failures.shift();
      if (f) throw f;
      inserts.push({ query: `INSERT INTO ${table} FORMAT JSONEachRow`, bytes: 0, rows: values.length });
      return {};
    },
  };
  return { client: client as unknown as ClickHouseClient, inserts };
}

/** Move the clock, then let the insert's stream (node's Readable: ticks, not microtasks) be read. */
async function advance(clock: SimClock, ms: number): Promise<void> {
  await clock.advance(ms);
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

const stats = (): DerivedFeedStats => ({ feedRows: 0, feedInserts: 0, feedFailures: 0, feedRowsDropped: 0, pendingFeedRows: 0 });
const binary = (rows: number, bytes = 10) => ({ format: "RowBinary" as const, columns: ["a", "b"], chunks: [new Uint8Array(bytes)], rows });
const targets = new Map([["readings", "readings_feed"]]);
const opts = { intervalMs: 1000, flushRows: 50, maxPendingRows: 100, retryMinMs: 100, retryMaxMs: 400 };

describe("DerivedFeed", () => {
  it("gathers accepted inserts for an interval and inserts them as one per target and column list; other tables are not fed", async () => {
    const clock = new SimClock();
    const { client, inserts } = fakeClient();
    const s = stats();
    const feed = new DerivedFeed(client, targets, clock, opts, s);
    feed.offer("readings", binary(3, 7));
    feed.offer("analyses", binary(5));
    feed.offer("readings", binary(2, 4));
    feed.offer("readings", { format: "JSONEachRow", objects: [{ a: 1 }] });
    expect(s.pendingFeedRows).toBe(6);
    await advance(clock, 999);
    expect(inserts).toEqual([]);
    await advance(clock, 1);
    expect(inserts).toEqual([
      { query: "INSERT INTO readings_feed (a, b) FORMAT RowBinary", bytes: 11 },
      { query: "INSERT INTO readings_feed FORMAT JSONEachRow", bytes: 0, rows: 1 },
    ]);
    expect(s).toMatchObject({ feedRows: 6, feedInserts: 2, pendingFeedRows: 0, feedRowsDropped: 0 });
    expect(clock.pending).toBe(0);
  });

  it("retries a retryable failure with backoff, and drops (counting) what ClickHouse refuses", async () => {
    const clock = new SimClock();
    const { client, inserts } = fakeClient([new Error("socket hang up"), new Error("Code: 60. DB::Exception: Table x.readings_feed doesn't exist")]);
    const s = stats();
    const lost: Array<[string, number]> = [];
    const feed = new DerivedFeed(client, targets, clock, { ...opts, onLoss: (r, n) => lost.push([r, n]) }, s);
    feed.offer("readings", binary(4));
    await advance(clock, 1000); // fails: retryable, waits 100 ms
    expect(s.feedFailures).toBe(1);
    await advance(clock, 100); // fails: code 60, not retryable: dropped
    expect(s).toMatchObject({ feedFailures: 2, feedRowsDropped: 4, feedRows: 0 });
    expect(lost).toHaveLength(1);
    expect(lost[0]![0]).toMatch(/doesn't exist/);
    feed.offer("readings", binary(1));
    await advance(clock, 1000);
    expect(inserts).toHaveLength(1);
    expect(s.feedRows).toBe(1);
  });

  it("does not wait for the interval once flushRows are pending, and not between inserts while they keep coming", async () => {
    const clock = new SimClock();
    const { client, inserts } = fakeClient();
    const s = stats();
    const feed = new DerivedFeed(client, targets, clock, opts, s);
    feed.offer("readings", binary(30));
    feed.offer("readings", binary(30)); // 60 >= 50: inserted now
    feed.offer("readings", binary(50)); // while that insert runs: next, at once
    await advance(clock, 0);
    expect(inserts).toHaveLength(2);
    expect(s).toMatchObject({ feedRows: 110, pendingFeedRows: 0, feedRowsDropped: 0 });
  });

  it("keeps at most maxPendingRows waiting: the oldest copies go first, counted", async () => {
    const clock = new SimClock();
    const { client } = fakeClient();
    const s = stats();
    const lost: number[] = [];
    const feed = new DerivedFeed(client, targets, clock, { ...opts, flushRows: 1000, maxPendingRows: 10, onLoss: (_, n) => lost.push(n) }, s);
    for (let i = 0; i < 5; i++) feed.offer("readings", binary(4));
    expect(lost).toEqual([4, 4, 4]);
    expect(s).toMatchObject({ pendingFeedRows: 8, feedRowsDropped: 12 });
    await feed.flush();
    expect(s).toMatchObject({ feedRows: 8, pendingFeedRows: 0 });
  });

  it("close inserts what is pending once and takes no more", async () => {
    const clock = new SimClock();
    const { client, inserts } = fakeClient();
    const s = stats();
    const feed = new DerivedFeed(client, targets, clock, opts, s);
    feed.offer("readings", binary(2));
    await feed.close();
    expect(inserts).toHaveLength(1);
    feed.offer("readings", binary(2));
    expect(s.pendingFeedRows).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
