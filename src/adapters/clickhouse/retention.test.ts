import { describe, expect, it } from "vitest";
import { applyRetention, describeRetention, RetentionJob } from "./retention.js";
import type { SqlRunner } from "./sql.js";

const DAY = 86_400_000;
const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);
const s = (ms: number) => Math.floor(ms / 1000);

/** Tables with partitions (id → newest time, rows), expired row counts and running mutations. */
function fakeDb(o: { tables: Record<string, Array<[string, number, number]>>; expired?: Record<string, number>; mutating?: string[] }): SqlRunner & { statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    async exec(q) {
      statements.push(q);
    },
    async query<T>(q: string): Promise<T[]> {
      if (q.includes("FROM system.tables")) return Object.keys(o.tables).map((name) => ({ name })) as T[];
      const table = /table = '([a-z_0-9]+)'/.exec(q)?.[1] ?? /FROM ([a-z_0-9]+) WHERE/.exec(q)?.[1] ?? "";
      if (q.includes("FROM system.parts")) return o.tables[table]!.map(([id, newest, rows]) => ({ id, newest, rows: String(rows) })) as T[];
      if (q.includes("FROM system.mutations")) return [{ n: o.mutating?.includes(table) ? "1" : "0" }] as T[];
      return [{ n: String(o.expired?.[table] ?? 0) }] as T[];
    },
  };
}

describe("applyRetention", () => {
  it("drops partitions whose newest row is older than the cutoff and deletes the expired rows left", async () => {
    const db = fakeDb({
      tables: {
        readings: [["202504", s(NOW - 45 * DAY), 10], ["202505", s(NOW - 20 * DAY), 20], ["202506", s(NOW), 30]],
        readings_1h: [["2019", s(NOW - 6 * 365 * DAY), 5], ["2025", s(NOW), 7]],
        dead_letters: [["202501", s(NOW - 150 * DAY), 3]],
        device_events: [["202501", 0, 3]],
        other: [["202001", 1, 1]],
      },
      expired: { readings: 4, readings_1h: 0, device_events: 0 },
    });
    const r = await applyRetention(db, { readings: 30 * DAY, readings_1h: 1825 * DAY, dead_letters: 0, device_events: 365 * DAY, other: DAY }, { nowMs: NOW, deleteBoundary: true });
    expect(r.dropped).toEqual([
      { table: "readings", partition: "202504", rows: 10 },
      { table: "readings_1h", partition: "2019", rows: 5 },
    ]);
    expect(r.deleted).toEqual([{ table: "readings", rows: 4 }]);
    const cutoff = s(NOW - 30 * DAY);
    expect(db.statements).toEqual(["ALTER TABLE readings DROP PARTITION ID '202504'", `ALTER TABLE readings DELETE WHERE ts < toDateTime(${cutoff})`, "ALTER TABLE readings_1h DROP PARTITION ID '2019'"]);
    expect(describeRetention(r)).toBe("dropped partitions readings/202504 (10 rows), readings_1h/2019 (5 rows); deleting expired rows of readings (4 rows)");
  });

  it("starts no second delete while one runs, and none without deleteBoundary", async () => {
    const tables = { readings: [["202506", s(NOW), 30]] as Array<[string, number, number]> };
    const busy = fakeDb({ tables, expired: { readings: 4 }, mutating: ["readings"] });
    expect(await applyRetention(busy, { readings: 30 * DAY }, { nowMs: NOW, deleteBoundary: true })).toEqual({ dropped: [], deleted: [], busy: ["readings"] });
    expect(busy.statements).toEqual([]);
    const quiet = fakeDb({ tables, expired: { readings: 4 } });
    expect(await applyRetention(quiet, { readings: 30 * DAY }, { nowMs: NOW, deleteBoundary: false })).toEqual({ dropped: [], deleted: [], busy: [] });
    expect(describeRetention({ dropped: [], deleted: [], busy: ["readings"] })).toBe("no partition expired; still deleting in readings");
  });
});

describe("RetentionJob", () => {
  it("deletes boundary rows at the first run and then at most every deleteEvery", async () => {
    let now = NOW;
    const db = fakeDb({ tables: { readings: [["202506", s(NOW), 30]] }, expired: { readings: 1 } });
    const job = new RetentionJob(db, { policy: { readings: 30 * DAY }, checkEveryMs: 3_600_000, deleteEveryMs: DAY }, () => now);
    const deletes = async () => (await job.run()).deleted.length;
    expect(await deletes()).toBe(1);
    now += 3_600_000;
    expect(await deletes()).toBe(0);
    now += DAY;
    expect(await deletes()).toBe(1);
  });
});
