import { describe, expect, it } from "vitest";
import { SimClock } from "../base/testing/sim-clock.js";
import { MemoryCommandStore, newCommandId } from "../commands/index.js";
import type { CommandFeed, CommandLink, CommandRecordInput, DeliveryOutcome, DeviceReply, QueueDisposition, QueuedCommand } from "../ports/commands.js";
import { startDownlink } from "./downlink.js";

/** A feed the test drives: `offer` hands one queued command to the downlink and returns what it decided. */
class FakeFeed implements CommandFeed {
  handle: ((c: QueuedCommand) => Promise<QueueDisposition>) | undefined;
  start(handle: (c: QueuedCommand) => Promise<QueueDisposition>) {
    this.handle = handle;
    return { stop: async () => {} };
  }
  offer(c: QueuedCommand): Promise<QueueDisposition> {
    return this.handle!(c);
  }
}

/** An MQTT link whose PUBACK the test picks; records what was sent. */
class FakeLink implements CommandLink {
  next: DeliveryOutcome = { kind: "accepted" };
  sent: { deviceId: string; commandId: string; expirySec: number }[] = [];
  reply: ((r: DeviceReply) => Promise<void>) | undefined;
  onSend: (() => Promise<void>) | undefined;
  async send(c: { deviceId: string; commandId: string; expirySec: number }): Promise<DeliveryOutcome> {
    this.sent.push({ deviceId: c.deviceId, commandId: c.commandId, expirySec: c.expirySec });
    await this.onSend?.();
    return this.next;
  }
  onReply(h: (r: DeviceReply) => Promise<void>): void {
    this.reply = h;
  }
  async close(): Promise<void> {}
}

const bytes = (s: string) => new TextEncoder().encode(s);

function setup(ttlMs = 60_000) {
  const clock = new SimClock();
  const store = new MemoryCommandStore();
  const feed = new FakeFeed();
  const link = new FakeLink();
  const dl = startDownlink({ store, feed, link, clock, retryEveryMs: 5_000 });
  const send = async (deviceId = "d1") => {
    const now = clock.now();
    const rec: CommandRecordInput = { commandId: newCommandId(now), deviceId, name: "reboot", payloadJson: "{}", status: "pending", createdAtMs: now, expiresAtMs: now + ttlMs, updatedAtMs: now, replyJson: "", reason: "", sentBy: "t", attempts: 0 };
    await store.create(rec);
    return { commandId: rec.commandId, deviceId, name: rec.name, payloadJson: rec.payloadJson, expiresAtMs: rec.expiresAtMs };
  };
  const status = async (id: string) => (await store.get(id))?.status;
  return { clock, store, feed, link, dl, send, status };
}

describe("downlink", () => {
  it("delivers, keeps the command queued until its expiry, and a reply acknowledges it", async () => {
    const t = setup();
    const q = await t.send();
    expect(await t.feed.offer(q)).toEqual({ kind: "later", delayMs: 60_000 });
    expect(t.link.sent).toEqual([{ deviceId: "d1", commandId: q.commandId, expirySec: 60 }]);
    expect(await t.status(q.commandId)).toBe("delivered");
    await t.link.reply!({ deviceId: "d1", correlation: q.commandId, payload: bytes('{"ok":true,"v":1}') });
    expect(await t.store.get(q.commandId)).toMatchObject({ status: "acknowledged", replyJson: '{"ok":true,"v":1}', attempts: 1 });
    // Offered again at its expiry: settled, so removed without another publish.
    t.clock.advanceSync(60_000);
    expect(await t.feed.offer(q)).toEqual({ kind: "done" });
    expect(t.link.sent.length).toBe(1);
    expect(t.dl.stats).toMatchObject({ delivered: 1, replies: 1 });
  });

  it("an offline device: stays pending, offered again every retryEvery, delivered once it is back", async () => {
    const t = setup();
    const q = await t.send();
    t.link.next = { kind: "no_subscribers" };
    expect(await t.feed.offer(q)).toEqual({ kind: "later", delayMs: 5_000 });
    expect(await t.store.get(q.commandId)).toMatchObject({ status: "pending", attempts: 1 });
    t.clock.advanceSync(5_000);
    t.link.next = { kind: "accepted" };
    expect(await t.feed.offer(q)).toEqual({ kind: "later", delayMs: 55_000 });
    expect(t.link.sent.map((s) => s.expirySec)).toEqual([60, 55]);
    expect(await t.store.get(q.commandId)).toMatchObject({ status: "delivered", attempts: 2 });
  });

  it("offline past the TTL: the last retry comes at the expiry and expires it", async () => {
    const t = setup(7_000);
    const q = await t.send();
    t.link.next = { kind: "no_subscribers" };
    expect(await t.feed.offer(q)).toEqual({ kind: "later", delayMs: 5_000 });
    t.clock.advanceSync(5_000);
    expect(await t.feed.offer(q)).toEqual({ kind: "later", delayMs: 2_000 });
    t.clock.advanceSync(2_000);
    expect(await t.feed.offer(q)).toEqual({ kind: "done" });
    expect(await t.store.get(q.commandId)).toMatchObject({ status: "expired", reason: expect.stringContaining("online") });
    expect(t.link.sent.length).toBe(2);
  });

  it("a delivered command without a reply expires when it comes back at its expiry", async () => {
    const t = setup(10_000);
    const q = await t.send();
    await t.feed.offer(q);
    t.clock.advanceSync(10_000);
    expect(await t.feed.offer(q)).toEqual({ kind: "done" });
    expect(await t.status(q.commandId)).toBe("expired");
    // A reply after the expiry changes nothing.
    await t.link.reply!({ deviceId: "d1", correlation: q.commandId, payload: bytes('{"ok":true}') });
    expect(await t.status(q.commandId)).toBe("expired");
    expect(t.dl.stats.repliesIgnored).toBe(1);
  });

  it("a broker refusal fails the command; an unreachable broker retries without a status change", async () => {
    const t = setup();
    const a = await t.send();
    t.link.next = { kind: "unreachable", reason: "closed" };
    expect(await t.feed.offer(a)).toEqual({ kind: "later", delayMs: 5_000 });
    expect(await t.store.get(a.commandId)).toMatchObject({ status: "pending", attempts: 0 });
    t.link.next = { kind: "refused", code: 135, reason: "Not authorized" };
    expect(await t.feed.offer(a)).toEqual({ kind: "done" });
    expect(await t.store.get(a.commandId)).toMatchObject({ status: "failed", reason: expect.stringContaining("135") });
  });

  it("a failed reply fails the command with the device's error", async () => {
    const t = setup();
    const q = await t.send();
    await t.feed.offer(q);
    await t.link.reply!({ deviceId: "d1", correlation: undefined, payload: bytes(`{"ok":false,"error":"disk full","commandId":"${q.commandId}"}`) });
    expect(await t.store.get(q.commandId)).toMatchObject({ status: "failed", reason: "disk full" });
  });

  it("a reply on another device's topic does not settle the command and is counted", async () => {
    const t = setup();
    const q = await t.send("d1");
    await t.feed.offer(q);
    await t.link.reply!({ deviceId: "d2", correlation: q.commandId, payload: bytes('{"ok":true}') });
    expect(await t.status(q.commandId)).toBe("delivered");
    expect(t.dl.stats).toMatchObject({ foreignReplies: 1, repliesIgnored: 1, replies: 0 });
    await t.link.reply!({ deviceId: "d1", correlation: undefined, payload: bytes('{"ok":true}') });
    expect(t.dl.stats.repliesIgnored).toBe(2);
  });

  it("a reply that overtakes the PUBACK wins: the command is not moved back to delivered", async () => {
    const t = setup();
    const q = await t.send();
    t.link.onSend = () => t.link.reply!({ deviceId: "d1", correlation: q.commandId, payload: bytes('{"ok":true}') });
    expect(await t.feed.offer(q)).toEqual({ kind: "done" });
    expect(await t.status(q.commandId)).toBe("acknowledged");
  });

  it("a delivered command offered again (another bridge, a redelivery) is not published twice", async () => {
    const t = setup();
    const q = await t.send();
    await t.feed.offer(q);
    t.clock.advanceSync(1_000);
    expect(await t.feed.offer(q)).toEqual({ kind: "later", delayMs: 59_000 });
    expect(t.link.sent.length).toBe(1);
  });

  it("a queued command without a record is dropped; a store failure retries later", async () => {
    const t = setup();
    expect(await t.feed.offer({ commandId: newCommandId(1), deviceId: "d1", name: "x", payloadJson: "{}", expiresAtMs: t.clock.now() + 1000 })).toEqual({ kind: "done" });
    const q = await t.send();
    t.store.get = async () => {
      throw new Error("kv down");
    };
    expect(await t.feed.offer(q)).toEqual({ kind: "later", delayMs: 5_000 });
    expect(t.dl.stats.storeErrors).toBe(1);
  });
});
