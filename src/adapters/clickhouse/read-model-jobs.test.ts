import { describe, expect, it } from "vitest";
import type { ClickHouseClient } from "@clickhouse/client";
import { SimClock } from "../../base/testing/sim-clock.js";
import { startReadModelJobs } from "./read-model-jobs.js";

/** A client that records statements and answers every query with no rows (nothing to correct or drop). */
function fakeClient() {
  const statements: string[] = [];
  let closed = false;
  const client = {
    async command({ query }: { query: string }) {
      statements.push(query);
    },
    async query({ query }: { query: string }) {
      statements.push(query);
      return { json: async () => (query.includes("count()") ? [{ n: "0" }] : []) };
    },
    async close() {
      closed = true;
    },
  };
  return { client: client as unknown as ClickHouseClient, statements, closed: () => closed };
}

const noop = () => {};
const log = { debug: noop, info: noop, warn: noop, error: noop };
const opts = (reconcileEveryMs: number, checkEveryMs: number) => ({
  rollups: { reconcileEveryMs, reconcileWindowMs: 15 * 60_000, settleMs: 10_000 },
  retention: { checkEveryMs, deleteEveryMs: 86_400_000, keepMs: { readings: 30 * 86_400_000 } },
});

describe("startReadModelJobs", () => {
  it("reconciles every reconcileEvery only while this node should, checks retention every checkEvery, stops on close", async () => {
    const clock = new SimClock(Date.UTC(2025, 0, 1));
    const ch = fakeClient();
    let here = false;
    const jobs = startReadModelJobs(ch.client, opts(60_000, 3_600_000), { clock, log, reconcileHere: () => here });
    const snapshots = () => ch.statements.filter((s) => s.includes("CREATE TABLE rollup_snap_")).length;
    const retentionRuns = () => ch.statements.filter((s) => s === "SELECT name FROM system.tables WHERE database = currentDatabase()").length;
    await clock.advance(70_000);
    expect(snapshots()).toBe(0); // not the owner of partition 0
    expect(retentionRuns()).toBe(1); // the first check within a minute of start
    here = true;
    await clock.advance(70_000);
    expect(snapshots()).toBe(1);
    await clock.advance(3_700_000);
    expect(retentionRuns()).toBe(2);
    await jobs.close();
    const n = ch.statements.length;
    await clock.advance(10 * 3_600_000);
    expect(ch.statements.length).toBe(n);
    expect(ch.closed()).toBe(true);
  });

  it("0 turns a job off", async () => {
    const clock = new SimClock(Date.UTC(2025, 0, 1));
    const ch = fakeClient();
    const jobs = startReadModelJobs(ch.client, opts(0, 0), { clock, log, reconcileHere: () => true });
    expect(clock.pending).toBe(0);
    await jobs.close();
    expect(ch.statements).toEqual([]);
  });
});
