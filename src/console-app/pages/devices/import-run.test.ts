import { describe, expect, it } from "vitest";
import { checkDeviceCsv } from "../../../registry/csv.js";
import { credentialsCsv, importCounts, importInChunks, type ImportAnswer } from "./import-run.js";

const rowsOf = (n: number) => checkDeviceCsv(`id,type\n${Array.from({ length: n }, (_, i) => `d${i},t`).join("\n")}\n`).rows;

/** A server: ids in `existing` are skipped, the others created with password "pw-<id>"; calls numbered from 0 fail when in `failing`. */
function server(existing: Set<string>, failing = new Set<number>()) {
  const calls: string[] = [];
  const call = async (csv: string): Promise<ImportAnswer> => {
    const n = calls.push(csv) - 1;
    if (failing.has(n)) throw new Error("unavailable, retry");
    const ids = csv.trim().split("\n").slice(1).map((l) => JSON.parse(l.split(",")[0]!) as string);
    return { devices: ids.map((id) => (existing.has(id) ? { id, skipped: true } : { id, skipped: false, credentials: { password: `pw-${id}` } })) };
  };
  return { calls, call };
}

describe("the console's chunked CSV import", () => {
  it("sends chunks, reports created (with the password) and skipped per row, and progress", async () => {
    const s = server(new Set(["d1"]));
    const progress: number[] = [];
    const got = await importInChunks(rowsOf(5), s.call, String, (n) => progress.push(n), 2);
    expect(s.calls).toHaveLength(3);
    expect(s.calls[0]).toBe('id,type,labels\n"d0","t",""\n"d1","t",""\n');
    expect(progress).toEqual([2, 4, 5]);
    expect(got.map((r) => [r.line, r.id, r.outcome.kind])).toEqual([[2, "d0", "created"], [3, "d1", "skipped"], [4, "d2", "created"], [5, "d3", "created"], [6, "d4", "created"]]);
    expect(got[0]!.outcome).toEqual({ kind: "created", password: "pw-d0" });
    expect(credentialsCsv(got)).toBe('id,username,password\n"d0","d0","pw-d0"\n"d2","d2","pw-d2"\n"d3","d3","pw-d3"\n"d4","d4","pw-d4"\n');
  });

  it("stops at the first failed call: its rows failed with the reason, later rows not sent", async () => {
    const s = server(new Set(), new Set([1]));
    const got = await importInChunks(rowsOf(7), s.call, (e) => `boom: ${(e as Error).message}`, () => {}, 2);
    expect(s.calls).toHaveLength(2);
    expect(got.map((r) => r.outcome.kind)).toEqual(["created", "created", "failed", "failed", "not-sent", "not-sent", "not-sent"]);
    expect(got[2]!.outcome).toEqual({ kind: "failed", reason: "boom: unavailable, retry" });
    expect(importCounts(got)).toEqual({ created: 2, skipped: 0, failed: 2, "not-sent": 3 });
  });
});
