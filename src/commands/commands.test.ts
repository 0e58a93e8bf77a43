import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CommandRecordInput, CommandStatus } from "../ports/commands.js";
import { applyEvent, checkCommand, CommandInputError, commandIdTime, COMMAND_ID_RE, deviceOfReplyTopic, isAfter, isSettled, MemoryCommandStore, newCommandId, newestFirst, parseReply, readPage, viewAt, type CommandEvent } from "./index.js";

const base: CommandRecordInput = {
  commandId: "00000000a-000000000000",
  deviceId: "d1",
  name: "reboot",
  payloadJson: "{}",
  status: "pending",
  createdAtMs: 1_000,
  expiresAtMs: 11_000,
  updatedAtMs: 1_000,
  replyJson: "",
  reason: "",
  sentBy: "ops",
  attempts: 0,
};
const at = (status: CommandStatus): CommandRecordInput => ({ ...base, status });

describe("command ids", () => {
  it("are time-ordered strings that give their time back", () => {
    const a = newCommandId(1_700_000_000_000);
    const b = newCommandId(1_700_000_000_001);
    expect(a).toMatch(COMMAND_ID_RE);
    expect(a < b).toBe(true);
    expect(commandIdTime(a)).toBe(1_700_000_000_000);
    expect(commandIdTime("nope")).toBeUndefined();
    expect(newCommandId(5)).not.toBe(newCommandId(5));
  });
});

describe("checkCommand", () => {
  const ok = { deviceId: "d1", name: "set-interval", payloadJson: '{"s": 5}', ttlMs: 0 };
  it("takes a good command, canonicalises the payload and applies the default TTL", () => {
    expect(checkCommand(ok, 3_600_000)).toEqual({ deviceId: "d1", name: "set-interval", payloadJson: '{"s":5}', ttlMs: 3_600_000 });
    expect(checkCommand({ ...ok, payloadJson: "" }, 1_000).payloadJson).toBe("{}");
  });
  it.each([
    [{ deviceId: "" }, "device_id"],
    [{ deviceId: "a/b" }, "device_id"],
    [{ name: "" }, "name"],
    [{ name: "re boot" }, "name"],
    [{ name: "x".repeat(65) }, "name"],
    [{ payloadJson: "[1]" }, "payload_json"],
    [{ payloadJson: "null" }, "payload_json"],
    [{ payloadJson: "{" }, "payload_json"],
    [{ payloadJson: JSON.stringify({ a: "x".repeat(17_000) }) }, "payload_json"],
    [{ ttlMs: 999 }, "ttl_ms"],
    [{ ttlMs: -1 }, "ttl_ms"],
    [{ ttlMs: 7 * 86_400_000 + 1 }, "ttl_ms"],
  ])("refuses %j naming %s", (change, field) => {
    try {
      checkCommand({ ...ok, ...change }, 60_000);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CommandInputError);
      expect((e as CommandInputError).field).toBe(field);
    }
  });
});

describe("status transitions", () => {
  const events: CommandEvent[] = [
    { kind: "accepted", atMs: 2_000 },
    { kind: "no_subscribers", atMs: 2_000 },
    { kind: "refused", atMs: 2_000, reason: "not authorized" },
    { kind: "replied", atMs: 2_000, ok: true, replyJson: "{}", reason: "" },
    { kind: "replied", atMs: 2_000, ok: false, replyJson: "{}", reason: "no" },
    { kind: "expire", atMs: 20_000 },
  ];
  it.each(["acknowledged", "failed", "expired"] as const)("never leave %s", (s) => {
    expect(isSettled(s)).toBe(true);
    for (const e of events) expect(applyEvent(at(s), e)).toBeUndefined();
  });
  it("pending: accepted → delivered, offline → one more attempt, refused → failed", () => {
    expect(applyEvent(at("pending"), events[0]!)).toMatchObject({ status: "delivered", attempts: 1, updatedAtMs: 2_000 });
    expect(applyEvent(at("pending"), events[1]!)).toMatchObject({ status: "pending", attempts: 1 });
    expect(applyEvent(at("pending"), events[2]!)).toMatchObject({ status: "failed", reason: "not authorized" });
  });
  it("a reply settles pending or delivered, ok or not", () => {
    for (const s of ["pending", "delivered"] as const) {
      expect(applyEvent(at(s), events[3]!)).toMatchObject({ status: "acknowledged", replyJson: "{}", reason: "" });
      expect(applyEvent(at(s), events[4]!)).toMatchObject({ status: "failed", reason: "no" });
    }
  });
  it("delivered never goes back to pending", () => {
    expect(applyEvent(at("delivered"), events[1]!)).toBeUndefined();
  });
  it("expiry: not before expiresAtMs; at or after it any event expires an open command", () => {
    expect(applyEvent(at("delivered"), { kind: "expire", atMs: 10_999 })).toBeUndefined();
    expect(applyEvent(at("delivered"), { kind: "expire", atMs: 11_000 })).toMatchObject({ status: "expired", reason: expect.stringContaining("no reply") });
    expect(applyEvent(at("pending"), { kind: "expire", atMs: 11_000 })).toMatchObject({ status: "expired", reason: expect.stringContaining("online") });
    expect(applyEvent(at("pending"), { kind: "replied", atMs: 12_000, ok: true, replyJson: "{}", reason: "" })).toMatchObject({ status: "expired" });
  });
  it("readers see an open command past its expiry as expired", () => {
    expect(viewAt(at("delivered"), 10_000).status).toBe("delivered");
    expect(viewAt(at("delivered"), 11_000)).toMatchObject({ status: "expired", updatedAtMs: 11_000 });
    expect(viewAt(at("acknowledged"), 99_000).status).toBe("acknowledged");
  });
});

describe("parseReply", () => {
  const id = "00000000a-000000000000";
  const bytes = (s: string) => new TextEncoder().encode(s);
  it("reads ok and failed replies, the id from correlation data or the body", () => {
    expect(parseReply(id, bytes('{"ok":true,"took":3}'))).toEqual({ commandId: id, ok: true, replyJson: '{"ok":true,"took":3}', reason: "" });
    expect(parseReply(undefined, bytes(`{"ok":false,"error":"busy","commandId":"${id}"}`))).toMatchObject({ commandId: id, ok: false, reason: "busy" });
    expect(parseReply("junk", bytes('{"ok":true}')).commandId).toBeUndefined();
  });
  it("fails malformed replies", () => {
    expect(parseReply(id, bytes("hello"))).toMatchObject({ ok: false, reason: expect.stringContaining("malformed") });
    expect(parseReply(id, bytes('{"ok":"yes"}'))).toMatchObject({ ok: false, reason: expect.stringContaining("malformed") });
    expect(parseReply(id, bytes(JSON.stringify({ ok: true, x: "y".repeat(17_000) })))).toMatchObject({ ok: false, replyJson: "" });
  });
});

describe("topics", () => {
  it("give the device of a reply topic only", () => {
    expect(deviceOfReplyTopic("devices/d-1/commands/reply")).toBe("d-1");
    expect(deviceOfReplyTopic("devices/d-1/commands")).toBeUndefined();
    expect(deviceOfReplyTopic("devices/a+b/commands/reply")).toBeUndefined();
  });
});

describe("MemoryCommandStore", () => {
  it("lists newest first with paging and makes a racing transition re-read", async () => {
    const s = new MemoryCommandStore();
    for (const t of [1, 3, 2]) await s.create({ ...base, commandId: newCommandId(t * 1000) });
    const all = await s.list({ deviceId: "d1", limit: 10 });
    expect(all.map((r) => commandIdTime(r.commandId))).toEqual([3000, 2000, 1000]);
    expect((await s.list({ deviceId: "d1", limit: 10, after: all[0]! })).length).toBe(2);
    const id = all[0]!.commandId;
    // Another writer acknowledges between our read and our write: ours must not undo it.
    s.beforeWrite = () => {
      s.beforeWrite = undefined;
      void s.transition("d1", id, (c) => applyEvent(c, { kind: "replied", atMs: 2_000, ok: true, replyJson: "{}", reason: "" }));
    };
    const r = await s.transition("d1", id, (c) => applyEvent(c, { kind: "accepted", atMs: 2_000 }));
    expect(r?.changed).toBe(false);
    expect((await s.get(id))?.status).toBe("acknowledged");
  });
});

describe("command listing order and pages", () => {
  const at = (commandId: string, deviceId: string) => ({ commandId, deviceId });
  it("orders newest first by command id, then device id descending", () => {
    const xs = [at("00000000a-000000000001", "a"), at("00000000b-000000000000", "a"), at("00000000a-000000000001", "b")];
    expect([...xs].sort(newestFirst)).toEqual([xs[1], xs[2], xs[0]]);
    expect(isAfter(xs[0]!, xs[2])).toBe(true);
    expect(isAfter(xs[2]!, xs[2])).toBe(false);
    expect(isAfter(xs[1]!, undefined)).toBe(true);
  });

  it("readPage: filters, stops reading once the page is full, skips records gone meanwhile", async () => {
    const positions = Array.from({ length: 10 }, (_, i) => at(newCommandId(1000 + i, () => Buffer.alloc(6)), `d${i % 2}`));
    const reads: string[] = [];
    const read = async (p: { commandId: string; deviceId: string }) => {
      reads.push(p.commandId);
      return commandIdTime(p.commandId) === 1007 ? undefined : { ...p, n: commandIdTime(p.commandId)! - 1000 };
    };
    const page = await readPage(positions, { limit: 2, where: (r) => r.n % 2 === 1 }, read, 3);
    expect(page.map((r) => r.n)).toEqual([9, 5]); // 7 is gone
    expect(reads).toHaveLength(6); // two chunks of 3: 9 8 7, 6 5 4
    const d0 = await readPage(positions, { deviceId: "d0", limit: 10, after: positions[6]! }, read);
    expect(d0.map((r) => r.n)).toEqual([4, 2, 0]);
  });

  it("every page of a listing joined is the whole listing, whatever the page size (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom("a", "b", "c"), fc.boolean()), { maxLength: 30 }), fc.integer({ min: 1, max: 7 }), async (spec, size) => {
        const s = new MemoryCommandStore();
        s.chunk = 2;
        for (const [t, device, keep] of spec) {
          const commandId = newCommandId(t, () => Buffer.from([0, 0, 0, 0, 0, keep ? 1 : 0]));
          if ((await s.get(commandId, device)) === undefined) await s.create({ ...base, deviceId: device, commandId, name: keep ? "keep" : "skip" });
        }
        const where = (r: { name: string }) => r.name === "keep";
        const whole = await s.list({ limit: 1000, where });
        const paged: typeof whole = [];
        for (let after: (typeof whole)[number] | undefined; ; ) {
          const page = await s.list({ limit: size, where, ...(after === undefined ? {} : { after }) });
          paged.push(...page);
          if (page.length < size) break;
          after = page[page.length - 1];
        }
        expect(paged).toEqual(whole);
        expect(whole.every((r, i) => i === 0 || newestFirst(whole[i - 1]!, r) < 0)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
