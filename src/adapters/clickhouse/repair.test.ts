import { describe, expect, it } from "vitest";
import type { ClickHouseClient } from "@clickhouse/client";
import { SimClock } from "../../base/testing/sim-clock.js";
import type { LoggedRows, RowLog } from "../../ports/row-log.js";
import { StoreRepair } from "./repair.js";

/**
 * A ClickHouse client with a `repair_markers` table that `restart()` empties, a fixed uptime, and
 * recorded inserts (unit test of the decisions only).
 */
function fakeClickHouse(uptimeS: number) {
  const inserts: string[] = [];
  const markers = new Set<string>();
  const client = {
    async query({ query }: { query: string }) {
      const v = query.includes("uptime()") ? uptimeS : query.includes("repair_markers") ? (markers.has(/node = '([^']*)'/.exec(query)![1]!) ? 1 : 0) : 0;
      return { json: async () => [{ v }] };
    },
    async command({ query }: { query: string }) {
      markers.add(/VALUES \('([^']*)'/.exec(query)![1]!);
    },
    async exec({ query }: { query: string }) {
      inserts.push(query);
      return { stream: (async function* () {})() };
    },
    async close() {},
  };
  return { client: client as unknown as ClickHouseClient, inserts, restart: (newUptimeS: number) => (markers.clear(), (uptimeS = newUptimeS)) };
}

function fakeLog(entries: LoggedRows[]): RowLog & { reads: Array<[number, number]> } {
  const reads: Array<[number, number]> = [];
  return {
    maxEntryBytes: 1 << 20,
    reads,
    async append() {},
    async *read(from, until) {
      reads.push([from, until]);
      yield* entries.filter((e) => e.atMs >= from && e.atMs <= until);
    },
  };
}

const noop = () => {};
const log = { debug: noop, info: noop, warn: noop, error: noop };

describe("StoreRepair decisions", () => {
  it("repairs from lookback before the last accepted insert up to the restart, once per restart", async () => {
    const clock = new SimClock(10_000_000);
    const ch = fakeClickHouse(100);
    const rowLog = fakeLog([{ table: "readings", format: "RowBinary", columns: ["a"], rows: 5, chunks: [new Uint8Array([1])], atMs: 9_990_000 }]);
    const reports: string[] = [];
    const repair = new StoreRepair(ch.client, rowLog, { clock, log, incidents: { report: (i) => reports.push(i.kind), degradedReason: () => "" }, lastAcceptedInsertAt: () => 10_000_500 }, { node: "n1", lookbackMs: 60_000, checkEveryMs: 1000 });
    // First look: no marker yet — the window before ClickHouse's start (100 s ago) is checked.
    expect(await repair.check()).toMatchObject({ reason: "ClickHouse may have restarted while this node was not watching", entries: 0 });
    expect(rowLog.reads).toEqual([[10_000_000 - 100_000 - 60_000, 10_000_000 - 100_000]]);
    clock.advanceSync(1000);
    expect(await repair.check()).toBeUndefined(); // marker there: the same server
    clock.advanceSync(3000);
    ch.restart(1); // a quick restart (uptime 1 s): the marker is gone
    const report = await repair.check();
    expect(rowLog.reads[1]).toEqual([10_000_500 - 60_000, 10_004_000 - 1000]);
    expect(report).toMatchObject({ reason: "ClickHouse restarted", entries: 1, reinserted: 5, missing: 5 });
    expect(ch.inserts).toEqual(["INSERT INTO readings (a) FORMAT RowBinary"]);
    expect(reports).toEqual(["store.rows-missing"]);
    clock.advanceSync(1000);
    expect(await repair.check()).toBeUndefined(); // the same new server
  });

  it("keeps a repair that failed and runs it at the next check", async () => {
    const clock = new SimClock(10_000_000);
    const ch = fakeClickHouse(100);
    let fail = false;
    const rowLog = fakeLog([{ table: "readings", format: "RowBinary", columns: ["a"], rows: 1, chunks: [new Uint8Array([1])], atMs: 9_999_000 }]);
    const exec = (ch.client as unknown as { exec: (q: { query: string }) => Promise<unknown> }).exec;
    (ch.client as unknown as { exec: unknown }).exec = async (q: { query: string }) => {
      if (fail) throw new Error("Connection refused");
      return exec(q);
    };
    const repair = new StoreRepair(ch.client, rowLog, { clock, log, incidents: { report: noop, degradedReason: () => "" }, lastAcceptedInsertAt: () => 0 }, { node: "n1", lookbackMs: 60_000, checkEveryMs: 1000 });
    await repair.check();
    clock.advanceSync(5000);
    ch.restart(2);
    fail = true;
    await expect(repair.check()).rejects.toThrow(/Connection refused/);
    fail = false;
    clock.advanceSync(1000);
    expect(await repair.check()).toMatchObject({ reason: "ClickHouse restarted", reinserted: 1 });
    expect(ch.inserts).toHaveLength(1);
  });

  it("with the sink's loggedSoFar, the window runs up to when the restart was seen, after the appends under way: an insert the old server accepted and logged late is in it", async () => {
    const run = async (withLoggedSoFar: boolean) => {
      const clock = new SimClock(10_000_000);
      const ch = fakeClickHouse(100);
      // Accepted by the old server at 10,003,900; its append waited out a row log leader election and
      // was stored at 10,004,500, after ClickHouse had restarted (at 10,004,000).
      const rowLog = fakeLog([{ table: "readings", format: "RowBinary", columns: ["a"], rows: 3, chunks: [new Uint8Array([1])], atMs: 10_004_500 }]);
      // After the restart, the appends under way settle 500 ms after it is seen (none before).
      let restarted = false;
      const loggedSoFar = async () => (restarted ? clock.advanceSync(500) : undefined);
      const deps = { clock, log, incidents: { report: noop, degradedReason: () => "" }, lastAcceptedInsertAt: () => 10_003_900 };
      const repair = new StoreRepair(ch.client, rowLog, withLoggedSoFar ? { ...deps, loggedSoFar } : deps, { node: "n1", lookbackMs: 60_000, checkEveryMs: 1000 });
      await repair.check();
      clock.advanceSync(5000);
      ch.restart(1);
      restarted = true;
      const report = await repair.check();
      return { window: rowLog.reads.at(-1), entries: report?.entries, reinserted: report?.reinserted };
    };
    expect(await run(true)).toEqual({ window: [10_003_900 - 60_000, 10_005_500], entries: 1, reinserted: 3 });
    // Without it (shoal repair, no sink): up to ClickHouse's start, which misses that insert.
    expect(await run(false)).toEqual({ window: [10_003_900 - 60_000, 10_004_000], entries: 0, reinserted: 0 });
  });
});
