import { describe, expect, it } from "vitest";
import { admissionRejection, createBridgeCore, type BridgeCoreOptions } from "./bridge.js";
import { decodeJournalReadings, defaultReadingLimits } from "../domain/reading-codec.js";
import { partitionOf } from "../domain/partition.js";
import { sleep, systemClock } from "../base/clock.js";

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const reading = (id: string, seq: number) => enc({ deviceId: id, seq, tsMs: 1, metrics: { t: seq } });
const turn = () => new Promise((r) => setImmediate(r));

interface Pub {
  subject: string;
  data: Uint8Array;
  msgId: string;
  resolve: (v: { seq: number; duplicate: boolean }) => void;
  reject: (e: Error) => void;
}

function setup(over: Partial<BridgeCoreOptions> = {}, deadLetter: Parameters<typeof createBridgeCore>[2] = async () => {}) {
  const pubs: Pub[] = [];
  const core = createBridgeCore(
    { partitions: 8, limits: defaultReadingLimits, msgIdPrefix: "node-boot", clock: systemClock, ...over },
    (subject, data, msgId) => new Promise((resolve, reject) => pubs.push({ subject, data, msgId, resolve, reject })),
    deadLetter,
  );
  return { core, pubs };
}

describe("bridge core", () => {
  it("packs a partition's readings of one turn into one journal message and acks each MQTT message after its PubAck", async () => {
    const { core, pubs } = setup();
    const acks: string[] = [];
    for (let s = 1; s <= 3; s++) core.handle("devices/d1/readings", reading("d1", s), { ack: () => acks.push(`d1:${s}`) });
    await turn();
    expect(pubs).toHaveLength(1);
    expect(pubs[0]!.subject).toBe(`shoal.readings.${partitionOf("d1", 8)}.batch`);
    expect(pubs[0]!.msgId).toBe("node-boot-1");
    expect(decodeJournalReadings(pubs[0]!.data).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(acks).toEqual([]);
    expect(core.held()).toBe(3);
    pubs[0]!.resolve({ seq: 1, duplicate: false });
    await turn();
    expect(acks).toEqual(["d1:1", "d1:2", "d1:3"]);
    expect(core.stats).toMatchObject({ received: 3, accepted: 3, batches: 1, duplicate: 0, rejected: 0 });
    expect(core.held()).toBe(0);
  });

  it("one journal message per partition; a window gathers readings of later turns", async () => {
    const { core, pubs } = setup({ batchWindowMs: 30 });
    const ids = ["a", "b", "c", "d", "e", "f"];
    for (const id of ids) core.handle(`devices/${id}/readings`, reading(id, 1), { ack: () => {} });
    await turn();
    for (const id of ids) core.handle(`devices/${id}/readings`, reading(id, 2), { ack: () => {} });
    expect(pubs).toHaveLength(0);
    await sleep(60);
    const partitions = new Set(ids.map((id) => partitionOf(id, 8)));
    expect(pubs).toHaveLength(partitions.size);
    for (const p of pubs) {
      const rs = decodeJournalReadings(p.data);
      expect(new Set(rs.map((r) => partitionOf(r.deviceId, 8)))).toEqual(new Set([Number(p.subject.split(".")[2])]));
    }
    expect(pubs.reduce((n, p) => n + decodeJournalReadings(p.data).length, 0)).toBe(12);
  });

  it("closes a journal message before it would pass batchMaxBytes, and keeps each reading whole and in order", async () => {
    const { core, pubs } = setup({ batchMaxBytes: 200 });
    const payload = enc({ deviceId: "d1", readings: Array.from({ length: 20 }, (_, i) => ({ seq: i + 1, tsMs: i + 1, metrics: { temperature: i, humidity: i } })) });
    core.handle("devices/d1/readings", payload, { ack: () => {} });
    await turn();
    const seqs: number[] = [];
    for (let i = 0; i < pubs.length || seqs.length < 20; i++) {
      await turn();
      const p = pubs[i]!;
      expect(p.data.length).toBeLessThanOrEqual(200);
      seqs.push(...decodeJournalReadings(p.data).map((r) => r.seq));
      p.resolve({ seq: i + 1, duplicate: false });
    }
    expect(pubs.length).toBeGreaterThan(2);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("acks a device's batch payload once all of its readings are durable, even across two journal messages", async () => {
    const { core, pubs } = setup({ batchMaxReadings: 3 });
    let acks = 0;
    const payload = enc({ deviceId: "d1", readings: [1, 2, 3, 4, 5].map((seq) => ({ seq, tsMs: seq, metrics: { t: seq } })) });
    core.handle("devices/d1/readings", payload, { ack: () => acks++ });
    await turn();
    // One publish per partition in flight: the second batch goes once the first has its PubAck.
    expect(pubs.map((p) => decodeJournalReadings(p.data).map((r) => r.seq))).toEqual([[1, 2, 3]]);
    pubs[0]!.resolve({ seq: 1, duplicate: false });
    await turn();
    expect(acks).toBe(0);
    expect(pubs.map((p) => decodeJournalReadings(p.data).map((r) => r.seq))).toEqual([[1, 2, 3], [4, 5]]);
    pubs[1]!.resolve({ seq: 2, duplicate: false });
    await turn();
    expect(acks).toBe(1);
    expect(core.stats.accepted).toBe(5);
  });

  it("keeps one publish per partition in flight: later readings wait and go together, in order; other partitions do not wait", async () => {
    const { core, pubs } = setup({ partitions: 1 });
    const acks: number[] = [];
    core.handle("devices/d1/readings", reading("d1", 1), { ack: () => acks.push(1) });
    await turn();
    expect(pubs).toHaveLength(1);
    // While batch 1 waits for its PubAck (a publish lost and sent again would land late), readings 2–4
    // of three later turns gather into one batch behind it.
    for (const s of [2, 3, 4]) {
      core.handle("devices/d1/readings", reading("d1", s), { ack: () => acks.push(s) });
      await turn();
    }
    expect(pubs).toHaveLength(1);
    expect(core.held()).toBe(4);
    pubs[0]!.resolve({ seq: 1, duplicate: false });
    await turn();
    expect(acks).toEqual([1]);
    expect(pubs).toHaveLength(2);
    expect(decodeJournalReadings(pubs[1]!.data).map((r) => r.seq)).toEqual([2, 3, 4]);
    pubs[1]!.resolve({ seq: 2, duplicate: false });
    await turn();
    expect(acks).toEqual([1, 2, 3, 4]);
    expect(core.held()).toBe(0);

    // Full batches queue behind the one in flight, in order.
    const small = setup({ partitions: 1, batchMaxReadings: 2 });
    for (let s = 1; s <= 6; s++) small.core.handle("devices/d1/readings", reading("d1", s), { ack: () => {} });
    await turn();
    const sent = () => small.pubs.map((p) => decodeJournalReadings(p.data).map((r) => r.seq));
    expect(sent()).toEqual([[1, 2]]);
    for (let i = 0; i < 3; i++) {
      small.pubs[i]!.resolve({ seq: i + 1, duplicate: false });
      await turn();
    }
    expect(sent()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(small.core.held()).toBe(0);

    // Partitions publish side by side.
    const many = setup({ partitions: 8 });
    for (const id of ["a", "b", "c", "d", "e", "f"]) many.core.handle(`devices/${id}/readings`, reading(id, 1), { ack: () => {} });
    await turn();
    expect(many.pubs).toHaveLength(new Set(["a", "b", "c", "d", "e", "f"].map((id) => partitionOf(id, 8))).size);
  });

  it("leaves the message unacked when the journal publish fails (the broker redelivers), and counts duplicates", async () => {
    const { core, pubs } = setup();
    let acks = 0;
    core.handle("devices/d1/readings", reading("d1", 1), { ack: () => acks++ });
    await turn();
    pubs[0]!.reject(new Error("closed"));
    core.handle("devices/d1/readings", reading("d1", 1), { ack: () => acks++ });
    await turn();
    pubs[1]!.resolve({ seq: 1, duplicate: true });
    await turn();
    expect(acks).toBe(1);
    expect(core.stats).toMatchObject({ publishFailures: 1, duplicate: 1, accepted: 1 });
  });

  it("stops admitting MQTT messages while too many readings are held, and admits again after their PubAck", async () => {
    const { core, pubs } = setup({ maxHeldReadings: 2 });
    core.handle("devices/d1/readings", reading("d1", 1), { ack: () => {} });
    expect(core.admitted()).toBe(true);
    core.handle("devices/d1/readings", reading("d1", 2), { ack: () => {} });
    expect(core.admitted()).toBe(false);
    let woke = false;
    void core.whenAdmitted().then(() => (woke = true));
    await turn();
    expect(woke).toBe(false);
    pubs[0]!.resolve({ seq: 1, duplicate: false });
    await turn();
    expect(woke).toBe(true);
  });

  it("dead-letters bad input and acks it only once the dead letter is durable", async () => {
    const dls: string[] = [];
    let release!: () => void;
    const { core } = setup({}, (dl) => {
      dls.push(`${dl.stage}/${dl.code}`);
      return new Promise<void>((r) => (release = r));
    });
    let acks = 0;
    core.handle("devices/d1/readings", enc({ deviceId: "d2", seq: 1, tsMs: 1, metrics: { t: 1 } }), { ack: () => acks++ });
    await turn();
    expect(acks).toBe(0);
    expect(core.held()).toBe(1);
    release();
    await turn();
    expect(acks).toBe(1);
    expect(dls).toEqual(["bridge/topic_mismatch"]);
    expect(core.stats.rejectedByCode).toEqual({ topic_mismatch: 1 });
  });

  it("asks `admit` about the topic's device before decoding and dead-letters its rejection like any other", async () => {
    const dls: Array<{ code: string; reason: string; source: string }> = [];
    const asked: string[] = [];
    const { core, pubs } = setup(
      {
        admit: (id) => {
          asked.push(id);
          if (id === "ghost") return { code: "unknown_device", reason: 'device "ghost" is not registered (registry.mode strict)' };
          if (id === "off") return { code: "device_disabled", reason: 'device "off" is disabled' };
          return undefined;
        },
      },
      async (dl) => {
        dls.push({ code: dl.code, reason: dl.reason, source: dl.source });
      },
    );
    const acks: string[] = [];
    core.handle("devices/ghost/readings", reading("ghost", 1), { ack: () => acks.push("ghost") });
    // Not decoded: a malformed payload of an unknown device is unknown_device, not malformed_json.
    core.handle("devices/ghost/readings", enc("{not json").subarray(1), { ack: () => acks.push("ghost-bad") });
    core.handle("devices/off/readings", reading("off", 1), { ack: () => acks.push("off") });
    core.handle("devices/d1/readings", reading("d1", 1), { ack: () => acks.push("d1") });
    // An invalid topic names no device: rejected before admission.
    core.handle("devices/a.b/readings", reading("a.b", 1), { ack: () => acks.push("bad-topic") });
    expect(asked).toEqual(["ghost", "ghost", "off", "d1"]);
    await turn();
    expect(dls).toEqual([
      { code: "unknown_device", reason: 'device "ghost" is not registered (registry.mode strict)', source: "devices/ghost/readings" },
      { code: "unknown_device", reason: 'device "ghost" is not registered (registry.mode strict)', source: "devices/ghost/readings" },
      { code: "device_disabled", reason: 'device "off" is disabled', source: "devices/off/readings" },
      expect.objectContaining({ code: "invalid_topic", source: "devices/a.b/readings" }),
    ]);
    expect(acks.sort()).toEqual(["bad-topic", "ghost", "ghost-bad", "off"]);
    expect(pubs).toHaveLength(1);
    expect(decodeJournalReadings(pubs[0]!.data).map((r) => r.deviceId)).toEqual(["d1"]);
    pubs[0]!.resolve({ seq: 1, duplicate: false });
    await turn();
    expect(acks).toContain("d1");
    expect(core.stats).toMatchObject({ received: 5, accepted: 1, rejected: 4, rejectedByCode: { unknown_device: 2, device_disabled: 1, invalid_topic: 1 } });
  });

  it("checks every reading's tsMs against the window around its clock's now", async () => {
    const now = Date.parse("2026-06-01T12:00:00.000Z");
    const dls: string[] = [];
    const { core, pubs } = setup(
      { clock: { ...systemClock, now: () => now }, limits: { ...defaultReadingLimits, maxClockSkewMs: 60_000, maxAgeMs: 3_600_000 } },
      async (dl) => {
        dls.push(`${dl.code}: ${dl.reason}`);
      },
    );
    const at = (tsMs: number) => enc({ deviceId: "d1", seq: 1, tsMs, metrics: { t: 1 } });
    core.handle("devices/d1/readings", at(now + 60_000), { ack: () => {} });
    core.handle("devices/d1/readings", at(now - 3_600_000), { ack: () => {} });
    core.handle("devices/d1/readings", at(now + 60_001), { ack: () => {} });
    core.handle("devices/d1/readings", at(now - 3_600_001), { ack: () => {} });
    await turn();
    expect(dls).toEqual([
      "invalid_field: tsMs: must not be later than now + 1m max clock skew (2026-06-01T12:01:00.000Z), got 2026-06-01T12:01:00.001Z (1780315260001)",
      "invalid_field: tsMs: must not be earlier than now − 1h max age (2026-06-01T11:00:00.000Z), got 2026-06-01T10:59:59.999Z (1780311599999)",
    ]);
    expect(pubs.flatMap((p) => decodeJournalReadings(p.data).map((r) => r.tsMs))).toEqual([now + 60_000, now - 3_600_000]);
  });

  it("admissionRejection turns the registry's answer into the rejection codes of strict mode", () => {
    expect(admissionRejection("p1", "known")).toBeUndefined();
    expect(admissionRejection("p1", "unknown")).toEqual({ code: "unknown_device", reason: 'device "p1" is not in the device registry (registry.mode: strict)' });
    expect(admissionRejection("p1", "disabled")).toEqual({ code: "device_disabled", reason: 'device "p1" is disabled in the device registry' });
  });
});
