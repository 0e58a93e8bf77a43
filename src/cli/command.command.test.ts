import { createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { systemClock } from "../base/clock.js";
import { applyEvent, MemoryCommandStore } from "../commands/index.js";
import { createCommandService } from "../command-service/index.js";
import { DeviceCommandService } from "../gen/shoal/v1/command_pb.js";
import type { QueuedCommand } from "../ports/commands.js";
import { runCommandOp } from "./command.command.js";

/** `shoal command` against an in-process DeviceCommandService. */
function setup() {
  const store = new MemoryCommandStore();
  const queued: QueuedCommand[] = [];
  const impl = createCommandService({ store, queue: { enqueue: async (c) => void queued.push(c) }, clock: systemClock, defaultTtlMs: 60_000 });
  const client = createClient(DeviceCommandService, createRouterTransport(({ service }) => service(DeviceCommandService, impl)));
  const shoal = async (cmd: string, args: string[], values: Record<string, string | boolean> = {}) => {
    const o = { out: "", err: "" };
    const io = { env: {}, stdout: (s: string) => void (o.out += s), stderr: (s: string) => void (o.err += s) };
    const code = await runCommandOp(cmd, args, values, io, client);
    return { code, ...o };
  };
  return { store, queued, shoal };
}

describe("shoal command", () => {
  it("send queues a command and prints it; show and list find it", async () => {
    const t = setup();
    const r = await t.shoal("send", ["d1", "reboot"], { payload: '{"in":5}', ttl: "5m" });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^status +pending$/m);
    const id = /^command +(\S+)$/m.exec(r.out)![1]!;
    expect(t.queued).toMatchObject([{ commandId: id, deviceId: "d1", payloadJson: '{"in":5}' }]);
    expect((await t.shoal("show", [id])).out).toMatch(/^name +reboot$/m);
    expect((await t.shoal("list", ["d1"])).out).toContain(id);
    expect((await t.shoal("list", ["d2"])).out).toBe("no commands\n");
  });

  it("list without a device lists the fleet's commands with their devices; --status filters", async () => {
    const t = setup();
    await t.shoal("send", ["d1", "a"]);
    await t.shoal("send", ["d2", "b"]);
    const all = await t.shoal("list", []);
    expect(all.code, all.err).toBe(0);
    expect(all.out.trim().split("\n").map((l) => l.split(/\s+/)[1])).toEqual(expect.arrayContaining(["d1", "d2"]));
    expect((await t.shoal("list", [], { status: "pending" })).out.trim().split("\n")).toHaveLength(2);
    expect((await t.shoal("list", [], { status: "acknowledged,failed" })).out).toBe("no commands\n");
    await expect(t.shoal("list", [], { status: "done" })).rejects.toThrow(/--status: "done"/);
    await expect(t.shoal("list", ["d1", "d2"])).rejects.toThrow(/at most 1 argument/);
  });

  it("send --wait follows the command until settled: exit 0 acknowledged, 1 failed", async () => {
    const t = setup();
    t.store.create = ((create) => async (rec) => {
      const made = await create(rec);
      // The device answers a little later.
      setTimeout(() => void t.store.transition(rec.deviceId, rec.commandId, (c) => applyEvent(c, { kind: "replied", atMs: Date.now(), ok: rec.name === "good", replyJson: "{}", reason: "nope" })), 100);
      return made;
    })(t.store.create.bind(t.store));
    const ok = await t.shoal("send", ["d1", "good"], { wait: true });
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^status +acknowledged$/m);
    const bad = await t.shoal("send", ["d1", "bad"], { wait: true, json: true });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toMatchObject({ status: "COMMAND_STATUS_FAILED", reason: "nope" });
  });

  it("a refused call exits 1 with the server's reason; a bad --ttl is a usage error", async () => {
    const t = setup();
    const r = await t.shoal("send", ["d1", "bad name"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("name");
    await expect(t.shoal("send", ["d1", "x"], { ttl: "soon" })).rejects.toThrow(/--ttl/);
  });
});
