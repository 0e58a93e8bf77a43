import { Code, ConnectError, createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CALLER } from "../access/index.js";
import { ShoalError } from "../base/errors.js";
import { SimClock } from "../base/testing/sim-clock.js";
import { commandIdTime, MemoryCommandStore } from "../commands/index.js";
import { CommandStatus, DeviceCommandService } from "../gen/shoal/v1/command_pb.js";
import type { CommandQueue, QueuedCommand } from "../ports/commands.js";
import type { DeviceRecord } from "../ports/device-registry.js";
import { createCommandService, type CommandServiceDeps } from "./command-service.js";

const asOps: Interceptor = (next) => (req) => {
  req.contextValues.set(CALLER, { name: "ops", role: "operator" });
  return next(req);
};

class MemoryQueue implements CommandQueue {
  queued: QueuedCommand[] = [];
  failing = false;
  async enqueue(c: QueuedCommand): Promise<void> {
    if (this.failing) throw new ShoalError("stream down", { code: "unavailable", retryable: true });
    this.queued.push(c);
  }
}

function setup(extra: Partial<CommandServiceDeps> = {}) {
  const clock = new SimClock();
  const store = new MemoryCommandStore();
  const queue = new MemoryQueue();
  const impl = createCommandService({ store, queue, clock, defaultTtlMs: 3_600_000, ...extra });
  const client = createClient(DeviceCommandService, createRouterTransport(({ service }) => service(DeviceCommandService, impl), { router: { interceptors: [asOps] } }));
  return { clock, store, queue, client };
}

async function code(p: Promise<unknown>): Promise<Code | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return ConnectError.from(e).code;
  }
}

describe("DeviceCommandService", () => {
  it("SendCommand stores PENDING, queues it and answers with the command", async () => {
    const t = setup();
    const { command } = await t.client.sendCommand({ deviceId: "d1", name: "reboot", payloadJson: '{"delay": 1}', ttlMs: 60_000n });
    expect(command).toMatchObject({ deviceId: "d1", name: "reboot", payloadJson: '{"delay":1}', status: CommandStatus.PENDING, sentBy: "ops", attempts: 0 });
    expect(command!.expiresAtMs - command!.createdAtMs).toBe(60_000n);
    expect(commandIdTime(command!.commandId)).toBe(t.clock.now());
    expect(t.queue.queued).toEqual([{ commandId: command!.commandId, deviceId: "d1", name: "reboot", payloadJson: '{"delay":1}', expiresAtMs: Number(command!.expiresAtMs) }]);
    expect((await t.store.get(command!.commandId))?.status).toBe("pending");
  });

  it("applies the default TTL", async () => {
    const t = setup();
    const { command } = await t.client.sendCommand({ deviceId: "d1", name: "reboot" });
    expect(command!.expiresAtMs - command!.createdAtMs).toBe(3_600_000n);
  });

  it.each([
    ["no device", { deviceId: "" }, "device_id"],
    ["a bad name", { name: "no spaces" }, "name"],
    ["an array payload", { payloadJson: "[]" }, "payload_json"],
    ["a TTL under 1 s", { ttlMs: 500n }, "ttl_ms"],
    ["a TTL over 7 d", { ttlMs: 8n * 86_400_000n }, "ttl_ms"],
    ["a TTL beyond safe integers", { ttlMs: 2n ** 62n }, "ttl_ms"],
  ])("SendCommand refuses %s: INVALID_ARGUMENT naming %s, nothing stored", async (_label, change, field) => {
    const t = setup();
    const err = await t.client.sendCommand({ deviceId: "d1", name: "reboot", ...change }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain(field);
    expect(t.store.all()).toEqual([]);
    expect(t.queue.queued).toEqual([]);
  });

  it("strict registry: unknown NOT_FOUND, disabled FAILED_PRECONDITION", async () => {
    const devices = new Map<string, Pick<DeviceRecord, "enabled">>([["on", { enabled: true }], ["off", { enabled: false }]]);
    const t = setup({ registry: { get: async (id) => devices.get(id) as DeviceRecord | undefined } });
    expect(await code(t.client.sendCommand({ deviceId: "nope", name: "x" }))).toBe(Code.NotFound);
    expect(await code(t.client.sendCommand({ deviceId: "off", name: "x" }))).toBe(Code.FailedPrecondition);
    expect(await code(t.client.sendCommand({ deviceId: "on", name: "x" }))).toBeUndefined();
  });

  it("a queue failure marks the stored command failed and answers UNAVAILABLE", async () => {
    const t = setup();
    t.queue.failing = true;
    expect(await code(t.client.sendCommand({ deviceId: "d1", name: "x" }))).toBe(Code.Unavailable);
    expect(t.store.all()).toMatchObject([{ status: "failed", reason: expect.stringContaining("queued") }]);
  });

  it("GetCommand: the record, EXPIRED once past its expiry, NOT_FOUND and INVALID_ARGUMENT", async () => {
    const t = setup();
    const { command } = await t.client.sendCommand({ deviceId: "d1", name: "x", ttlMs: 10_000n });
    expect((await t.client.getCommand({ commandId: command!.commandId })).command?.status).toBe(CommandStatus.PENDING);
    t.clock.advanceSync(10_000);
    expect((await t.client.getCommand({ commandId: command!.commandId })).command).toMatchObject({ status: CommandStatus.EXPIRED, reason: expect.stringContaining("online") });
    expect(await code(t.client.getCommand({ commandId: "00000000a-000000000000" }))).toBe(Code.NotFound);
    expect(await code(t.client.getCommand({ commandId: "x" }))).toBe(Code.InvalidArgument);
  });

  it("ListCommands: a device's commands newest first, in pages", async () => {
    const t = setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await t.client.sendCommand({ deviceId: "d1", name: `c${i}` })).command!.commandId);
      t.clock.advanceSync(1);
    }
    await t.client.sendCommand({ deviceId: "d2", name: "other" });
    const p1 = await t.client.listCommands({ deviceId: "d1", pageSize: 2 });
    expect(p1.commands.map((c) => c.name)).toEqual(["c4", "c3"]);
    const p2 = await t.client.listCommands({ deviceId: "d1", pageSize: 2, pageToken: p1.nextPageToken });
    const p3 = await t.client.listCommands({ deviceId: "d1", pageSize: 2, pageToken: p2.nextPageToken });
    expect([...p2.commands, ...p3.commands].map((c) => c.name)).toEqual(["c2", "c1", "c0"]);
    expect(p3.nextPageToken).toBe("");
    expect(await code(t.client.listCommands({ deviceId: "d1", pageToken: "bogus" }))).toBe(Code.InvalidArgument);
    expect(await code(t.client.listCommands({ deviceId: "d1", pageSize: 1001 }))).toBe(Code.InvalidArgument);
  });

  it("ListCommands without a device: the fleet's commands newest first, paged, stable while new ones arrive", async () => {
    const t = setup();
    const sent: string[] = [];
    for (let i = 0; i < 6; i++) {
      sent.push((await t.client.sendCommand({ deviceId: `d${i % 3}`, name: `c${i}` })).command!.commandId);
      t.clock.advanceSync(1);
    }
    const p1 = await t.client.listCommands({ pageSize: 4 });
    expect(p1.commands.map((c) => c.name)).toEqual(["c5", "c4", "c3", "c2"]);
    // Commands sent after the first page do not shift the next one.
    await t.client.sendCommand({ deviceId: "d0", name: "late" });
    const p2 = await t.client.listCommands({ pageSize: 4, pageToken: p1.nextPageToken });
    expect(p2.commands.map((c) => c.name)).toEqual(["c1", "c0"]);
    expect(p2.nextPageToken).toBe("");
    expect((await t.client.listCommands({})).commands.map((c) => c.name)).toEqual(["late", "c5", "c4", "c3", "c2", "c1", "c0"]);
  });

  it("ListCommands by status: as read now (past expiry reads EXPIRED), full pages, INVALID_ARGUMENT for no status", async () => {
    const t = setup();
    for (let i = 0; i < 8; i++) {
      const c = (await t.client.sendCommand({ deviceId: `d${i % 2}`, name: `c${i}`, ttlMs: i % 4 === 0 ? 1_000n : 60_000n })).command!;
      if (i % 4 === 1) await t.store.transition(c.deviceId, c.commandId, (r) => ({ ...r, status: "acknowledged" }));
      t.clock.advanceSync(1);
    }
    t.clock.advanceSync(1_000); // c0 and c4 expired (still pending in the store)
    const expired = await t.client.listCommands({ statuses: [CommandStatus.EXPIRED] });
    expect(expired.commands.map((c) => [c.name, c.status])).toEqual([["c4", CommandStatus.EXPIRED], ["c0", CommandStatus.EXPIRED]]);
    const settled = await t.client.listCommands({ statuses: [CommandStatus.ACKNOWLEDGED, CommandStatus.EXPIRED], pageSize: 3 });
    expect(settled.commands.map((c) => c.name)).toEqual(["c5", "c4", "c1"]);
    const rest = await t.client.listCommands({ statuses: [CommandStatus.ACKNOWLEDGED, CommandStatus.EXPIRED], pageSize: 3, pageToken: settled.nextPageToken });
    expect(rest.commands.map((c) => c.name)).toEqual(["c0"]);
    expect(rest.nextPageToken).toBe("");
    expect((await t.client.listCommands({ deviceId: "d1", statuses: [CommandStatus.PENDING] })).commands.map((c) => c.name)).toEqual(["c7", "c3"]);
    expect(await code(t.client.listCommands({ statuses: [CommandStatus.UNSPECIFIED] }))).toBe(Code.InvalidArgument);
    expect(await code(t.client.listCommands({ statuses: [9 as CommandStatus] }))).toBe(Code.InvalidArgument);
    expect(await code(t.client.listCommands({ deviceId: "bad id" }))).toBe(Code.InvalidArgument);
  });

  it("ListCommands takes a page token of the first format (command id only)", async () => {
    const t = setup();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await t.client.sendCommand({ deviceId: "d1", name: `c${i}` })).command!.commandId);
      t.clock.advanceSync(1);
    }
    const old = Buffer.from(`c:${ids[2]}`, "utf8").toString("base64url");
    expect((await t.client.listCommands({ deviceId: "d1", pageToken: old })).commands.map((c) => c.name)).toEqual(["c1", "c0"]);
    expect(await code(t.client.listCommands({ pageToken: Buffer.from(`c:${ids[2]}.d1.x`, "utf8").toString("base64url") }))).toBe(Code.InvalidArgument);
  });

  it("a store outage is UNAVAILABLE", async () => {
    const t = setup();
    t.store.create = async () => {
      throw new ShoalError("kv down", { code: "storage_unavailable", retryable: true });
    };
    expect(await code(t.client.sendCommand({ deviceId: "d1", name: "x" }))).toBe(Code.Unavailable);
  });
});
