import { describe, expect, it } from "vitest";
import type { DeviceChange } from "../ports/device-registry.js";
import { MemoryDeviceRegistry } from "./memory-registry.js";
import { testDeviceRecord as rec } from "./testing-records.js";

const codeOf = async (p: Promise<unknown>) => p.then(() => "no error", (e: { code?: string }) => e.code);

describe("MemoryDeviceRegistry (test double)", () => {
  it("creates, gets and refuses a second create of the same id; revisions grow across devices", async () => {
    const r = new MemoryDeviceRegistry();
    const a = await r.create(rec("a"));
    const b = await r.create(rec("b"));
    expect(a.revision).toBeGreaterThan(0);
    expect(b.revision).toBeGreaterThan(a.revision);
    expect(await r.get("a")).toEqual(a);
    expect(await r.get("zz")).toBeUndefined();
    expect(await codeOf(r.create(rec("a")))).toBe("already_exists");
  });

  it("updates by compare-and-set: re-applies the change after a concurrent one, conflict with an expected revision", async () => {
    const r = new MemoryDeviceRegistry();
    const a = await r.create(rec("a"));
    r.interleave = () => void r.update("a", (c) => ({ ...c, labels: { ...c.labels, other: "1" } }));
    let calls = 0;
    const u = await r.update("a", (c) => {
      calls++;
      return { ...c, labels: { ...c.labels, mine: "2" } };
    });
    expect(calls).toBe(2);
    expect(u.labels).toEqual({ other: "1", mine: "2" });
    expect(u.revision).toBeGreaterThan(a.revision);
    expect(await codeOf(r.update("a", (c) => c, a.revision))).toBe("conflict");
    expect((await r.update("a", (c) => ({ ...c, enabled: false }), u.revision)).enabled).toBe(false);
    expect(await codeOf(r.update("nope", (c) => c))).toBe("not_found");
    expect(await codeOf(r.update("a", (c) => ({ ...c, id: "b" })))).toBe("invalid_input");
  });

  it("deletes (false when absent) and lists in id order", async () => {
    const r = new MemoryDeviceRegistry();
    for (const id of ["m", "a", "Z", "b-2"]) await r.create(rec(id));
    expect((await r.list()).map((d) => d.id)).toEqual(["Z", "a", "b-2", "m"]);
    expect(await r.delete("a")).toBe(true);
    expect(await r.delete("a")).toBe(false);
    expect((await r.list()).map((d) => d.id)).toEqual(["Z", "b-2", "m"]);
    await r.create(rec("a"));
    expect(await r.get("a")).toBeDefined();
  });

  it("watches: the current records first, then every change in order, until stopped", async () => {
    const r = new MemoryDeviceRegistry();
    await r.create(rec("b"));
    await r.create(rec("a"));
    const seen: DeviceChange[] = [];
    const w = await r.watch((c) => seen.push(c));
    await w.ready;
    expect(seen.map((c) => c.id)).toEqual(["a", "b"]);
    await r.update("a", (c) => ({ ...c, enabled: false }));
    await r.delete("b");
    await w.stop();
    await r.create(rec("c"));
    expect(seen.slice(2).map((c) => [c.id, c.record?.enabled])).toEqual([
      ["a", false],
      ["b", undefined],
    ]);
  });
});
