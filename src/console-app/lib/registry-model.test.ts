import { describe, expect, it } from "vitest";
import { commandOpen, commandsListStale, commandStatusName, commandStatusTone, enabledFilterCode, formatLabels, labelChanges, localInputToMs, outcomeTone, parseCommandName, parseDeviceId, parseLabels, parsePayload, parseTtl } from "./registry-model.js";

describe("registry-model", () => {
  it("parses labels typed as k=v pairs and formats them back", () => {
    expect(parseLabels("")).toEqual({ ok: true, value: {} });
    expect(parseLabels(" site=berlin, floor = 2\nurl=a=b ")).toEqual({ ok: true, value: { site: "berlin", floor: "2", url: "a=b" } });
    expect(parseLabels("site")).toMatchObject({ ok: false, error: expect.stringContaining("key=value") });
    expect(parseLabels("=x")).toMatchObject({ ok: false });
    expect(parseLabels("bad key=x")).toMatchObject({ ok: false, error: expect.stringContaining("bad key") });
    expect(parseLabels("a=1,a=2")).toMatchObject({ ok: false, error: expect.stringContaining("twice") });
    expect(parseLabels(`a=${"x".repeat(257)}`)).toMatchObject({ ok: false });
    expect(parseLabels(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(","))).toMatchObject({ ok: false, error: "at most 32 labels" });
    expect(formatLabels({ z: "1", a: "2" })).toBe("a=2, z=1");
    const round = parseLabels(formatLabels({ site: "berlin", floor: "2" }));
    expect(round).toEqual({ ok: true, value: { floor: "2", site: "berlin" } });
  });

  it("computes the set/remove of an UpdateDevice from two label maps", () => {
    expect(labelChanges({ a: "1", b: "2", c: "3" }, { a: "1", b: "9", d: "4" })).toEqual({ setLabels: { b: "9", d: "4" }, removeLabels: ["c"] });
    expect(labelChanges({ a: "1" }, { a: "1" })).toEqual({ setLabels: {}, removeLabels: [] });
  });

  it("checks device ids and command names as the services do", () => {
    expect(parseDeviceId(" d-17 ")).toEqual({ ok: true, value: "d-17" });
    expect(parseDeviceId("d/17").ok).toBe(false);
    expect(parseDeviceId("").ok).toBe(false);
    expect(parseDeviceId("x".repeat(129)).ok).toBe(false);
    expect(parseCommandName("set-interval.v2")).toEqual({ ok: true, value: "set-interval.v2" });
    expect(parseCommandName("re boot").ok).toBe(false);
  });

  it("accepts only a JSON object as payload, compacted, empty as {}", () => {
    expect(parsePayload("")).toEqual({ ok: true, value: "{}" });
    expect(parsePayload('{ "every": 5 }')).toEqual({ ok: true, value: '{"every":5}' });
    expect(parsePayload("[1]")).toMatchObject({ ok: false, error: expect.stringContaining("object") });
    expect(parsePayload("null")).toMatchObject({ ok: false });
    expect(parsePayload("{nope")).toMatchObject({ ok: false, error: expect.stringContaining("not JSON") });
    expect(parsePayload(JSON.stringify({ x: "y".repeat(17 * 1024) }))).toMatchObject({ ok: false, error: expect.stringContaining("16 KiB") });
  });

  it("reads TTLs with units, bounded by 7 days; empty is the server default", () => {
    expect(parseTtl("")).toEqual({ ok: true, value: 0 });
    expect(parseTtl("30")).toEqual({ ok: true, value: 30_000 });
    expect(parseTtl("5m")).toEqual({ ok: true, value: 300_000 });
    expect(parseTtl("2h")).toEqual({ ok: true, value: 7_200_000 });
    expect(parseTtl("7d")).toEqual({ ok: true, value: 7 * 86_400_000 });
    expect(parseTtl("8d").ok).toBe(false);
    expect(parseTtl("0s").ok).toBe(false);
    expect(parseTtl("-5s").ok).toBe(false);
    expect(parseTtl("soon").ok).toBe(false);
  });

  it("asks for the commands list again while it shows an open command, failed, or lacks the command just sent", () => {
    const done = [{ commandId: "c1", status: 3 }];
    const base = { failed: false, firstPage: true, statusFilter: false };
    expect(commandsListStale(done, base)).toBe(false);
    expect(commandsListStale([...done, { commandId: "c2", status: 2 }], base)).toBe(true);
    expect(commandsListStale(done, { ...base, failed: true })).toBe(true);
    // Sent from the page but not listed yet (the listing ran before it could be read).
    expect(commandsListStale(done, { ...base, sentId: "c9" })).toBe(true);
    expect(commandsListStale([{ commandId: "c9", status: 3 }, ...done], { ...base, sentId: "c9" })).toBe(false);
    // Not on the first page, or a status filter may hide it: no endless polling for it.
    expect(commandsListStale(done, { ...base, sentId: "c9", firstPage: false })).toBe(false);
    expect(commandsListStale(done, { ...base, sentId: "c9", statusFilter: true })).toBe(false);
  });

  it("names command statuses and outcomes", () => {
    expect([1, 2, 3, 4, 5].map(commandStatusName)).toEqual(["pending", "delivered", "acknowledged", "failed", "expired"]);
    expect(commandStatusName(99)).toBe("unspecified");
    expect([1, 2, 3, 4, 5].map(commandOpen)).toEqual([true, true, false, false, false]);
    expect([3, 4, 5, 1].map(commandStatusTone)).toEqual(["ok", "bad", "warn", "info"]);
    expect(["ok", "permission_denied", "invalid_argument"].map(outcomeTone)).toEqual(["ok", "bad", "warn"]);
    expect(["any", "enabled", "disabled"].map((f) => enabledFilterCode(f as "any"))).toEqual([0, 1, 2]);
    expect(localInputToMs("")).toBe(0);
    expect(localInputToMs("garbage")).toBe(0);
    expect(localInputToMs("2026-12-05T10:00")).toBe(new Date("2026-12-05T10:00").getTime());
  });
});
