import { describe, expect, it } from "vitest";
import type { CommandRecordInput, CommandStatus } from "../ports/commands.js";
import { applyEvent, checkCommand, CommandInputError, commandIdTime, COMMAND_ID_RE, deviceOfReplyTopic, isSettled, MemoryCommandStore, newCommandId, parseReply, viewAt, type CommandEvent } from "./index.js";

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
    const all = await s.listForDevice("d1", { limit: 10 });
    expect(all.map((r) => commandIdTime(r.commandId))).toEqual([3000, 2000, 1000]);
    expect((await s.listForDevice("d1", { limit: 10, before: all[0]!.commandId })).length).toBe(2);
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
