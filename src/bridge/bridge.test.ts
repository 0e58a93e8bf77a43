import { describe, expect, it } from "vitest";
import { createBridgeCore, type BridgeCoreOptions } from "./bridge.js";
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

  it("acks a device's batch payload once all of its readings are durable, even across two journal messages", async () => {
    const { core, pubs } = setup({ batchMaxReadings: 3 });
    let acks = 0;
    const payload = enc({ deviceId: "d1", readings: [1, 2, 3, 4, 5].map((seq) => ({ seq, tsMs: seq, metrics: { t: seq } })) });
    core.handle("devices/d1/readings", payload, { ack: () => acks++ });
    await turn();
    expect(pubs.map((p) => decodeJournalReadings(p.data).map((r) => r.seq))).toEqual([[1, 2, 3], [4, 5]]);
    pubs[1]!.resolve({ seq: 2, duplicate: false });
    await turn();
    expect(acks).toBe(0);
    pubs[0]!.resolve({ seq: 1, duplicate: false });
    await turn();
    expect(acks).toBe(1);
    expect(core.stats.accepted).toBe(5);
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
});
