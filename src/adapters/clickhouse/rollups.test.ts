import { describe, expect, it } from "vitest";
import { RowBinaryWriter } from "../../domain/row-binary.js";
import { READINGS_SCHEMA } from "../../domain/tables.js";
import type { LoggedRows } from "../../ports/row-log.js";
import type { Row } from "../../ports/row-sink.js";
import { minuteRanges, readingMinutes, reconcileRollups } from "./rollups.js";
import type { SqlRunner } from "./sql.js";

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const reading = (seq: number, tsMs: number): Row => ({ device_id: "d", epoch: 1, seq, ts_ms: tsMs, metric_names: ["t"], metric_values: [1], metric_scores: [0], score: 0, log: "", stream_seq: seq });

describe("readingMinutes", () => {
  it("reads the minutes of RowBinary and JSONEachRow readings entries; [] for other tables", () => {
    const b = new RowBinaryWriter(READINGS_SCHEMA).encode([reading(1, T0 + 5), reading(2, T0 + 59_999), reading(3, T0 + 60_000), reading(4, T0 - 1)]).binary!;
    const bin: LoggedRows = { table: "readings", format: "RowBinary", columns: READINGS_SCHEMA.columns.map((c) => c.name), rows: b.rows, chunks: b.chunks, atMs: 0 };
    expect(readingMinutes(bin)!.sort()).toEqual([T0 - 60_000, T0, T0 + 60_000]);
    const json = new TextEncoder().encode(`${JSON.stringify(reading(5, T0 + 3_600_000))}\n${JSON.stringify(reading(6, T0 + 3_600_001))}\n`);
    expect(readingMinutes({ table: "readings", format: "JSONEachRow", columns: [], rows: 2, chunks: [json.subarray(0, 10), json.subarray(10)], atMs: 0 })).toEqual([T0 + 3_600_000]);
    expect(readingMinutes({ table: "analyses", format: "JSONEachRow", columns: [], rows: 1, chunks: [json], atMs: 0 })).toEqual([]);
  });

  it("is undefined for entries it cannot read", () => {
    expect(readingMinutes({ table: "readings", format: "RowBinary", columns: ["a"], rows: 1, chunks: [new Uint8Array([1])], atMs: 0 })).toBeUndefined();
    expect(readingMinutes({ table: "readings", format: "RowBinary", columns: ["device_id"], rows: 2, chunks: [new Uint8Array([1, 65])], atMs: 0 })).toBeUndefined();
    expect(readingMinutes({ table: "readings", format: "JSONEachRow", columns: [], rows: 1, chunks: [new TextEncoder().encode('{"ts_ms":"x"}\n')], atMs: 0 })).toBeUndefined();
  });
});

describe("minuteRanges", () => {
  it("merges minutes less than the gap apart into [from, to) ranges", () => {
    const m = 60_000;
    expect(minuteRanges([])).toEqual([]);
    expect(minuteRanges([T0 + 2 * m, T0, T0 + m])).toEqual([{ fromMs: T0, toMs: T0 + 3 * m }]);
    expect(minuteRanges([T0, T0 + 10 * m, T0 + 200 * m], 30 * m)).toEqual([
      { fromMs: T0, toMs: T0 + 11 * m },
      { fromMs: T0 + 200 * m, toMs: T0 + 201 * m },
    ]);
  });
});

/** A SqlRunner that records statements and answers `count()` of the corrections with `fixes[pass]`. */
function fakeDb(fixes: number[], fail?: RegExp): SqlRunner & { statements: string[] } {
  const statements: string[] = [];
  let pass = 0;
  return {
    statements,
    async exec(q) {
      statements.push(q);
      if (fail?.test(q)) throw new Error("boom");
    },
    async query<T>(q: string): Promise<T[]> {
      statements.push(q);
      if (q.includes("system.tables")) return [{ name: "rollup_fix_1_abcd" }, { name: `rollup_fix_${Math.floor(Date.now() / 1000)}_abcd` }] as T[];
      return [{ n: String(fixes[pass++] ?? 0) }] as T[];
    },
  };
}

describe("reconcileRollups", () => {
  const now = () => T0 + 30 * 60_000 + 5_000;

  it("compares whole minutes, the newest settle left out, and corrects 1m and 1h; passes again after a correction", async () => {
    const db = fakeDb([4, 0]);
    const slept: number[] = [];
    const n = await reconcileRollups(db, T0 + 1000, T0 + 60 * 60_000, { now, settleMs: 10_000, sleep: async (ms) => void slept.push(ms) });
    expect(n).toBe(4);
    expect(slept).toHaveLength(1);
    const creates = db.statements.filter((s) => s.startsWith("CREATE TABLE"));
    expect(creates).toHaveLength(4);
    // From the next whole minute up to the last whole minute before now - settle.
    expect(creates[0]).toContain(`bucket >= toDateTime(${(T0 + 60_000) / 1000}) AND bucket < toDateTime(${(T0 + 29 * 60_000) / 1000})`);
    expect(creates[1]).toContain(`ts_ms >= ${T0 + 60_000} AND ts_ms < ${T0 + 29 * 60_000}`);
    expect(db.statements.filter((s) => s.startsWith("INSERT INTO readings_1m"))).toHaveLength(1);
    expect(db.statements.filter((s) => s.startsWith("INSERT INTO readings_1h"))).toHaveLength(1);
    // Temporary tables dropped, the stale leftover too (not the fresh one: another process's).
    expect(db.statements.filter((s) => s.startsWith("DROP TABLE")).length).toBe(5);
    expect(db.statements).toContain("DROP TABLE IF EXISTS rollup_fix_1_abcd");
  });

  it("does nothing for a range inside the settle time or before notBefore", async () => {
    const db = fakeDb([]);
    expect(await reconcileRollups(db, now() - 9_000, now(), { now, settleMs: 10_000 })).toBe(0);
    expect(await reconcileRollups(db, T0, T0 + 10 * 60_000, { now, notBeforeMs: T0 + 10 * 60_000 })).toBe(0);
    expect(db.statements).toEqual([]);
  });

  it("stops after maxPasses and drops its tables when a statement fails", async () => {
    const db = fakeDb([1, 1, 1, 1]);
    expect(await reconcileRollups(db, T0, T0 + 10 * 60_000, { now, maxPasses: 2, sleep: async () => {} })).toBe(2);
    const failing = fakeDb([3], /^INSERT INTO readings_1h/);
    await expect(reconcileRollups(failing, T0, T0 + 10 * 60_000, { now })).rejects.toThrow("boom");
    expect(failing.statements.filter((s) => /^DROP TABLE IF EXISTS rollup_(snap|fix)_\d+_[0-9a-f]{8}$/.test(s))).toHaveLength(2);
  });
});
