import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ReadingBatchSchema, ReadingSchema } from "../gen/shoal/v1/reading_pb.js";
import type { Reading } from "../ports/reading.js";
import { decodeReadingWire } from "./reading-wire.js";
import { encodeReadingBatchWire, encodeReadingWire, ReadingBatchWriter } from "./reading-wire-write.js";

/** Metric names as readings may carry them: "__proto__" is reserved (rejected; its own test below). */
const metricName = (names: fc.Arbitrary<string>) => names.filter((n) => n !== "__proto__");

const arbReading = fc.record(
  {
    deviceId: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
    seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    tsMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    metrics: fc.dictionary(metricName(fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/)), fc.double(), { minKeys: 1, maxKeys: 6 }),
    log: fc.option(fc.string({ maxLength: 50 }), { nil: undefined }),
    boot: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  },
  { requiredKeys: ["deviceId", "seq", "tsMs", "metrics"] },
);

/**
 * Anything protobuf-es can encode as a Reading: any Unicode in names and ids (short and past the
 * 64-byte fast path), the empty string, metric names that collide in the decoder's name cache.
 */
const arbUnicode = fc.oneof(fc.string({ unit: "grapheme", maxLength: 24 }), fc.string({ unit: "binary", maxLength: 80 }), fc.string({ maxLength: 70 }));
const arbAnyReading = fc.record({
  deviceId: arbUnicode,
  seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  tsMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  metrics: fc.dictionary(metricName(fc.oneof(arbUnicode, fc.constantFrom("temp", "humidity", "a", "b", "c"))), fc.double(), { maxKeys: 8 }),
  log: fc.option(arbUnicode, { nil: undefined }),
  boot: fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { nil: undefined }),
});

type Decoded = { ok: true; value: Reading } | { ok: false };

/** protobuf-es's decoding of `bytes` in the domain shape (the reference). */
function reference(bytes: Uint8Array): Decoded {
  try {
    const m = fromBinary(ReadingSchema, bytes);
    const value: Reading = { deviceId: m.deviceId, seq: Number(m.seq), tsMs: Number(m.tsMs), metrics: { ...m.metrics } };
    const withLog = m.log === undefined ? value : { ...value, log: m.log };
    const withBoot = m.boot === undefined ? withLog : { ...withLog, boot: Number(m.boot) };
    // The bridge's trace context, when it is one (an empty string is none).
    return { ok: true, value: m.traceParent ? { ...withBoot, trace: m.traceParent } : withBoot };
  } catch {
    return { ok: false };
  }
}

function ours(bytes: Uint8Array): Decoded {
  try {
    return { ok: true, value: decodeReadingWire(bytes) };
  } catch {
    return { ok: false };
  }
}

function toProto(r: { deviceId: string; seq: number; tsMs: number; metrics: Record<string, number>; log?: string | undefined; boot?: number | undefined }): Uint8Array {
  return toBinary(
    ReadingSchema,
    create(ReadingSchema, { deviceId: r.deviceId, seq: BigInt(r.seq), tsMs: BigInt(r.tsMs), metrics: r.metrics, log: r.log, boot: r.boot === undefined ? undefined : BigInt(r.boot) }),
  );
}

describe("hand-written Reading wire codec", () => {
  it("decodes what protobuf-es encodes and protobuf-es decodes what it encodes (property)", () => {
    fc.assert(
      fc.property(arbReading, (r) => {
        const ours = decodeReadingWire(toProto(r));
        expect(ours).toEqual(r);
        const back = fromBinary(ReadingSchema, encodeReadingWire(ours));
        expect(back.deviceId).toBe(r.deviceId);
        expect(back.seq).toBe(BigInt(r.seq));
        expect(back.tsMs).toBe(BigInt(r.tsMs));
        expect(back.metrics).toEqual(r.metrics);
        expect(back.log).toBe(r.log);
        expect(back.boot).toBe(r.boot === undefined ? undefined : BigInt(r.boot));
      }),
    );
  });

  it("agrees with protobuf-es on any Reading, non-ASCII and long strings included (property)", () => {
    fc.assert(
      fc.property(arbAnyReading, (r) => {
        const bytes = toProto(r);
        const ref = reference(bytes);
        expect(ref.ok).toBe(true);
        expect(ours(bytes)).toEqual(ref);
        // Decoded twice in a row (the second time from the metric-name cache): the same reading.
        expect(ours(bytes)).toEqual(ref);
      }),
      { numRuns: 500 },
    );
  });

  it("agrees with protobuf-es on every truncation: a cut inside a field throws, never a partial reading (property)", () => {
    fc.assert(
      fc.property(arbAnyReading, (r) => {
        const bytes = toProto(r);
        for (let cut = 0; cut < bytes.length; cut++) {
          const prefix = bytes.subarray(0, cut);
          // A cut at a field boundary is a valid shorter message (both decode it alike); any other
          // cut must throw in both.
          expect(ours(prefix)).toEqual(reference(prefix));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("never accepts garbled bytes protobuf-es rejects, and whatever it accepts, protobuf-es decodes alike (property)", () => {
    const garbled = fc
      .tuple(arbAnyReading, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
      .map(([r, edits]) => {
        const bytes = toProto(r).slice();
        for (const [i, v] of edits) if (bytes.length > 0) bytes[i % bytes.length] = v;
        return bytes;
      });
    // Found by a random seed in CI: field 7 present but empty (bytes 3a 00) gave `trace: ""`.
    expect(ours(Uint8Array.from([58, 0, 48, 0]))).toEqual(reference(Uint8Array.from([58, 0, 48, 0])));
    fc.assert(
      fc.property(fc.oneof(garbled, fc.uint8Array({ maxLength: 64 })), (bytes) => {
        // One direction only: on some garbage protobuf-es reads a known field whatever its wire
        // type (or reads an unknown field of a map entry as a tag) and may then succeed; ours throws.
        const mine = ours(bytes);
        if (mine.ok) expect(mine).toEqual(reference(bytes));
      }),
      { numRuns: 2000 },
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
    expect(() => decodeReadingWire(new Uint8Array([0x05, 1, 2, 3, 4]))).toThrow(/field number 0/);
    expect(() => decodeReadingWire(new Uint8Array([0x08, 0x01]))).toThrow(/field 1 has wire type 0/);
    expect(() => decodeReadingWire(new Uint8Array([0x22, 0x02, 0x08, 0x01]))).toThrow(/unexpected field 1 \(wire type 0\) in a metrics entry/);
    expect(() => decodeReadingWire(new Uint8Array([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))).toThrow(/seq is not a non-negative safe integer/);
    expect(() => decodeReadingWire(new Uint8Array([0x8a, 0x80, 0x80, 0x80, 0x80, 0x01]))).toThrow(/overflows uint32/);
    // Invalid UTF-8 in a string field (a lone continuation byte) throws, as in protobuf-es.
    expect(() => decodeReadingWire(new Uint8Array([0x0a, 0x02, 0xc3, 0x28]))).toThrow();
    expect(() => decodeReadingWire(new Uint8Array([0x22, 0x04, 0x0a, 0x02, 0xff, 0x61]))).toThrow();
  });

  it("rejects the metric name __proto__ (an assignment would drop it silently)", () => {
    const metrics: Record<string, number> = { t: 1 };
    Object.defineProperty(metrics, "__proto__", { value: 5, enumerable: true });
    const bytes = toBinary(ReadingSchema, create(ReadingSchema, { deviceId: "d", seq: 1n, tsMs: 1n, metrics }));
    expect(() => decodeReadingWire(bytes)).toThrow('metric name "__proto__" is reserved');
  });

  it("encodes readings, alone and batched, byte for byte as protobuf-es does (property)", () => {
    // A reading always has a device id (validated: 1–128 characters); proto3 leaves an empty one out.
    const arbTraced = fc
      .tuple(arbAnyReading.filter((r) => r.deviceId !== ""), fc.option(arbUnicode, { nil: undefined }))
      .map(([r, trace]): Reading => (trace === undefined || trace === "" ? r : { ...r, trace }));
    fc.assert(
      fc.property(fc.array(arbTraced, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 300 }), (rs, initialBytes) => {
        const protos = rs.map((r) =>
          create(ReadingSchema, { deviceId: r.deviceId, seq: BigInt(r.seq), tsMs: BigInt(r.tsMs), metrics: r.metrics, log: r.log, boot: r.boot === undefined ? undefined : BigInt(r.boot), traceParent: r.trace }),
        );
        rs.forEach((r, i) => expect(encodeReadingWire(r)).toEqual(toBinary(ReadingSchema, protos[i]!)));
        // Grown from a buffer too small for one reading, the batch is still exactly protobuf-es's.
        const w = new ReadingBatchWriter(initialBytes);
        for (const r of rs) w.add(r);
        const expected = toBinary(ReadingBatchSchema, create(ReadingBatchSchema, { readings: protos }));
        expect(w.bytes()).toEqual(expected);
        expect(w.length).toBe(expected.length);
        expect(encodeReadingBatchWire(rs.map(encodeReadingWire))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("writes varints of every size up to 2^53 - 1 (timestamps split into 32-bit halves)", () => {
    for (const v of [0, 1, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 5, 1_765_000_000_123, 2 ** 49, 2 ** 52 + 1, Number.MAX_SAFE_INTEGER]) {
      const r = { deviceId: "d", seq: v, tsMs: v, metrics: { t: 1 }, boot: v };
      expect(encodeReadingWire(r)).toEqual(toBinary(ReadingSchema, create(ReadingSchema, { deviceId: "d", seq: BigInt(v), tsMs: BigInt(v), metrics: { t: 1 }, boot: BigInt(v) })));
      expect(decodeReadingWire(encodeReadingWire(r))).toEqual(v === 0 ? { ...r, seq: 0, tsMs: 0 } : r);
    }
  });

  it("decodes non-ASCII and long names exactly", () => {
    for (const deviceId of ["Ünïcødé-🌡", "x".repeat(16), "y".repeat(17), "z".repeat(64), "w".repeat(65), "é".repeat(40)]) {
      const r = { deviceId, seq: 1, tsMs: 2, metrics: { [deviceId]: 3, temp: 4 }, log: deviceId };
      expect(decodeReadingWire(encodeReadingWire(r))).toEqual(r);
    }
  });
});
