import { describe, expect, it } from "vitest";
import { createBridgeCore } from "./bridge.js";
import { defaultReadingLimits } from "../domain/reading-codec.js";

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const reading = (seq: number) => enc({ deviceId: "d1", seq, tsMs: 1, metrics: { t: 1 } });

describe("bridge core", () => {
  it("acks the MQTT message only after the journal PubAck, and counts duplicates", async () => {
    const pubs: Array<{ subject: string; msgId: string; resolve: (v: { seq: number; duplicate: boolean }) => void }> = [];
    const core = createBridgeCore(
      { partitions: 8, limits: defaultReadingLimits },
      (subject, _d, msgId) => new Promise((resolve) => pubs.push({ subject, msgId, resolve })),
      async () => {},
    );
    let acks = 0;
    const done = [core.handle("devices/d1/readings", reading(1), () => acks++), core.handle("devices/d1/readings", reading(1), () => acks++)];
    await Promise.resolve();
    expect(acks).toBe(0);
    expect(pubs.map((p) => p.msgId)).toEqual(["d1:1", "d1:1"]);
    expect(pubs[0]!.subject).toMatch(/^shoal\.readings\.[0-7]\.d1$/);
    pubs[0]!.resolve({ seq: 1, duplicate: false });
    pubs[1]!.resolve({ seq: 1, duplicate: true });
    await Promise.all(done);
    expect(acks).toBe(2);
    expect(core.stats).toMatchObject({ received: 2, accepted: 1, duplicate: 1, rejected: 0 });
  });

  it("leaves the message unacked when the journal publish fails (the broker redelivers)", async () => {
    const core = createBridgeCore({ partitions: 8, limits: defaultReadingLimits }, () => Promise.reject(new Error("down")), async () => {});
    let acks = 0;
    await core.handle("devices/d1/readings", reading(1), () => acks++);
    expect(acks).toBe(0);
    expect(core.stats.publishFailures).toBe(1);
  });

  it("dead-letters bad input and acks it only once the dead letter is durable", async () => {
    const dls: string[] = [];
    let release!: () => void;
    const core = createBridgeCore({ partitions: 8, limits: defaultReadingLimits }, () => Promise.reject(new Error("unused")), (dl) => {
      dls.push(`${dl.stage}/${dl.code}`);
      return new Promise<void>((r) => (release = r));
    });
    let acks = 0;
    const p = core.handle("devices/d1/readings", enc({ deviceId: "d2", seq: 1, tsMs: 1, metrics: { t: 1 } }), () => acks++);
    await Promise.resolve();
    expect(acks).toBe(0);
    release();
    await p;
    expect(acks).toBe(1);
    expect(dls).toEqual(["bridge/topic_mismatch"]);
    expect(core.stats.rejectedByCode).toEqual({ topic_mismatch: 1 });
  });
});
