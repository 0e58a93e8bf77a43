import { describe, expect, it } from "vitest";
import { fromBinary } from "@bufbuild/protobuf";
import { ReadingSchema } from "../gen/shoal/v1/reading_pb.js";
import { decodeReadings } from "../domain/reading-codec.js";
import { batchPayloads, jsonReading, payloadsFor, protoReading, readingPayload } from "./payloads.js";
import type { FleetReading } from "./fleet.js";

const metrics = { temperature: 21.5, humidity: 40 };
const reading = (ordinal: number, over: Partial<FleetReading> = {}): FleetReading => ({ ordinal, seq: ordinal, tsMs: 1_700_000_000_000 + ordinal, metrics, ...over });

describe("single readings", () => {
  it("JSON keeps today's shape, adds boot when set and leaves seq out without counter", () => {
    expect(jsonReading("d-1", reading(3))).toBe(`{"deviceId":"d-1","seq":3,"tsMs":1700000000003,"metrics":{"temperature":21.5,"humidity":40}}`);
    expect(JSON.parse(jsonReading("d-1", reading(3, { boot: 2 })))).toMatchObject({ seq: 3, boot: 2 });
    const none = JSON.parse(jsonReading("d-1", reading(3, { seq: undefined }))) as Record<string, unknown>;
    expect("seq" in none).toBe(false);
    expect("boot" in none).toBe(false);
  });

  it("protobuf has seq 0 without counter and boot only when set", () => {
    const plain = fromBinary(ReadingSchema, protoReading("d-1", reading(3, { seq: undefined })));
    expect(plain.seq).toBe(0n);
    expect(plain.boot).toBeUndefined();
    expect(fromBinary(ReadingSchema, protoReading("d-1", reading(3, { boot: 4 }))).boot).toBe(4n);
  });

  it("mixed sends even ordinals as protobuf", () => {
    expect(typeof readingPayload("d", reading(1), "mixed")).toBe("string");
    expect(Buffer.isBuffer(readingPayload("d", reading(2), "mixed"))).toBe(true);
    expect(Buffer.isBuffer(readingPayload("d", reading(1), "protobuf"))).toBe(true);
  });
});

describe("batches", () => {
  const backlog = Array.from({ length: 1234 }, (_, i) => reading(i + 1, { boot: 1 }));

  it("split a backlog into at most 500 readings, in order", () => {
    const out = batchPayloads("d-1", backlog, 500, 1 << 30);
    expect(out.map((o) => o.readings.length)).toEqual([500, 500, 234]);
    const items = out.flatMap((o) => (JSON.parse(o.payload as string) as { deviceId: string; readings: Array<{ seq: number; boot: number }> }).readings);
    expect(items.map((r) => r.seq)).toEqual(backlog.map((r) => r.seq));
    expect(items[0]).toEqual({ seq: 1, boot: 1, tsMs: 1_700_000_000_001, metrics });
  });

  it("respect the byte limit and decode with the platform's codec", () => {
    const out = batchPayloads("d-1", backlog, 500, 16 * 1024);
    expect(out.every((o) => Buffer.byteLength(o.payload as string) <= 16 * 1024)).toBe(true);
    expect(out.reduce((a, o) => a + o.readings.length, 0)).toBe(backlog.length);
    for (const o of out) {
      const r = decodeReadings(Buffer.from(o.payload as string), "d-1");
      expect(r.ok).toBe(true);
    }
  });

  it("carry the flushed backlog before the live reading; single payloads without flushAsBatch", () => {
    const flushed = backlog.slice(0, 3);
    const live = reading(4);
    const batched = payloadsFor("d-1", { flushed, live }, { format: "json", flushAsBatch: true });
    expect(batched.map((o) => o.readings.map((r) => r.ordinal))).toEqual([[1, 2, 3], [4]]);
    const single = payloadsFor("d-1", { flushed, live }, { format: "json", flushAsBatch: false });
    expect(single.map((o) => o.readings.map((r) => r.ordinal))).toEqual([[1], [2], [3], [4]]);
    expect(payloadsFor("d-1", { flushed: [], live: undefined }, { format: "json", flushAsBatch: true })).toEqual([]);
  });
});
