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
});
