import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ReadingSchema } from "../gen/shoal/v1/reading_pb.js";
import { decodeReadingWire, encodeReadingWire } from "./reading-wire.js";

const arbReading = fc.record(
  {
    deviceId: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
    seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    tsMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    metrics: fc.dictionary(fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/), fc.double(), { minKeys: 1, maxKeys: 6 }),
    log: fc.option(fc.string({ maxLength: 50 }), { nil: undefined }),
  },
  { requiredKeys: ["deviceId", "seq", "tsMs", "metrics"] },
);

describe("hand-written Reading wire codec", () => {
  it("decodes what protobuf-es encodes and protobuf-es decodes what it encodes (property)", () => {
    fc.assert(
      fc.property(arbReading, (r) => {
        const msg = create(ReadingSchema, { deviceId: r.deviceId, seq: BigInt(r.seq), tsMs: BigInt(r.tsMs), metrics: r.metrics, log: r.log });
        const ours = decodeReadingWire(toBinary(ReadingSchema, msg));
        expect(ours).toEqual(r.log === undefined ? { deviceId: r.deviceId, seq: r.seq, tsMs: r.tsMs, metrics: r.metrics } : r);
        const back = fromBinary(ReadingSchema, encodeReadingWire(ours));
        expect(back.deviceId).toBe(r.deviceId);
        expect(back.seq).toBe(BigInt(r.seq));
        expect(back.tsMs).toBe(BigInt(r.tsMs));
        expect(back.metrics).toEqual(r.metrics);
        expect(back.log).toBe(r.log);
      }),
    );
  });

  it("throws on truncated or malformed bytes instead of returning a partial reading", () => {
    const original = { deviceId: "d", seq: 300, tsMs: 5, metrics: { t: 1.5 } };
    const good = encodeReadingWire(original);
    let threw = 0;
    for (let cut = 1; cut < good.length; cut++) {
      let r;
      try {
        r = decodeReadingWire(good.subarray(0, cut));
      } catch {
        threw++;
        continue;
      }
      // A cut at a field boundary is a valid shorter message: it must never equal the original.
      expect(r).not.toEqual(original);
    }
    expect(threw).toBeGreaterThan(good.length / 2);
    expect(() => decodeReadingWire(new Uint8Array([0x0a, 0x05, 0x61]))).toThrow(/truncated/);
    expect(() => decodeReadingWire(new Uint8Array([0x0f]))).toThrow(/wire type 7/);
  });
});
