import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { create, toBinary } from "@bufbuild/protobuf";
import { ReadingBatchSchema, ReadingSchema } from "../gen/shoal/v1/reading_pb.js";
import { decodeJournalReading, decodeJournalReadings, decodeReading, decodeReadings, defaultReadingLimits, deviceIdFromTopic, encodeReading, MAX_TS_MS } from "./reading-codec.js";
import { encodeReadingBatchWire } from "./reading-wire-write.js";

const enc = (o: unknown) => new TextEncoder().encode(typeof o === "string" ? o : JSON.stringify(o));
const good = { deviceId: "d-1", seq: 7, tsMs: 1_700_000_000_000, metrics: { temperature: 21.5, humidity: 40 } };

describe("decodeReading", () => {
  it("accepts a valid JSON reading", () => {
    expect(decodeReading(enc(good), "d-1")).toEqual({ ok: true, reading: good });
  });

  it("accepts snake_case names (proto3 JSON) but integers only as JSON numbers", () => {
    const r = decodeReading(enc({ device_id: "d-1", seq: 7, ts_ms: 1700000000000, metrics: { t: 1 }, log: "hello" }), "d-1");
    expect(r).toEqual({ ok: true, reading: { deviceId: "d-1", seq: 7, tsMs: 1_700_000_000_000, metrics: { t: 1 }, log: "hello" } });
    expect(decodeReading(enc({ device_id: "d-1", seq: "7", ts_ms: 1700000000000, metrics: { t: 1 } }), "d-1")).toMatchObject({ ok: false, code: "invalid_field" });
  });

  it("accepts a valid protobuf reading", () => {
    const bytes = toBinary(ReadingSchema, create(ReadingSchema, { deviceId: "d-1", seq: 7n, tsMs: 1_700_000_000_000n, metrics: { temperature: 21.5, humidity: 40 } }));
    expect(decodeReading(bytes, "d-1")).toEqual({ ok: true, reading: good });
  });

  it("accepts readings without a counter (seq absent or 0) and with a boot number, in JSON and protobuf", () => {
    const { seq: _, ...noSeq } = good;
    expect(decodeReading(enc(noSeq), "d-1")).toEqual({ ok: true, reading: { ...good, seq: 0 } });
    expect(decodeReading(enc({ ...good, seq: 0 }), "d-1")).toEqual({ ok: true, reading: { ...good, seq: 0 } });
    expect(decodeReading(enc({ ...good, boot: 0 }), "d-1")).toEqual({ ok: true, reading: { ...good, boot: 0 } });
    const bytes = toBinary(ReadingSchema, create(ReadingSchema, { deviceId: "d-1", tsMs: 1_700_000_000_000n, metrics: good.metrics, boot: 3n }));
    expect(decodeReading(bytes, "d-1")).toEqual({ ok: true, reading: { ...good, seq: 0, boot: 3 } });
    // boot 0 is present (proto3 optional), not absent
    const zero = toBinary(ReadingSchema, create(ReadingSchema, { deviceId: "d-1", seq: 7n, tsMs: 1_700_000_000_000n, metrics: good.metrics, boot: 0n }));
    expect(decodeReading(zero, "d-1")).toEqual({ ok: true, reading: { ...good, boot: 0 } });
    // the journal form keeps both
    const back = decodeJournalReadings(encodeReading({ ...good, seq: 0, boot: 0 }));
    expect(back).toEqual([{ ...good, seq: 0, boot: 0 }]);
  });

  it.each([
    ["malformed JSON", "{not json", "malformed_json", /not valid JSON/],
    ["a JSON array", "[1,2]", "malformed_json", /^payload must be a JSON object \(a reading or a batch\), got an array$/],
    ["wrong type of seq", { ...good, seq: "seven" }, "invalid_field", /^seq: must be an integer from 0 to 9007199254740991 \(or absent\), got string "seven"$/],
    ["negative seq", { ...good, seq: -1 }, "invalid_field", /^seq: must be an integer from 0 to 9007199254740991 \(or absent\), got number -1$/],
    ["fractional boot", { ...good, boot: 1.5 }, "invalid_field", /^boot: must be an integer from 0 to 9007199254740991 \(or absent\), got number 1.5$/],
    ["fractional ts", { ...good, tsMs: 1.5 }, "invalid_field", /^tsMs: must be an integer from 1 to 4294967295999 \(ms since the Unix epoch/],
    ["missing ts", { deviceId: "d-1", seq: 1, metrics: { a: 1 } }, "invalid_field", /^tsMs: required/],
    ["metric as string", { ...good, metrics: { t: "hot" } }, "invalid_field", /^metrics\.t: must be a finite number, got string "hot"$/],
    ["non-finite metric", '{"deviceId":"d-1","seq":1,"tsMs":1,"metrics":{"t":1e999}}', "invalid_field", /^metrics\.t: must be a finite number, got number Infinity$/],
    ["metrics as array", { ...good, metrics: [1] }, "invalid_field", /^metrics: must be an object/],
    ["no metrics", { ...good, metrics: {} }, "invalid_field", /at least one metric/],
    ["bad metric name", { ...good, metrics: { "a.b": 1 } }, "invalid_field", /^metrics: name "a\.b" must match/],
    ["unknown field", { ...good, colour: "red" }, "unknown_field", /^unknown field "colour"/],
    ["topic mismatch", { ...good, deviceId: "d-2" }, "topic_mismatch", /^deviceId "d-2" does not match topic device "d-1"$/],
    ["log not a string", { ...good, log: 5 }, "invalid_field", /^log: must be a string/],
    ["a reserved metric name", '{"deviceId":"d-1","seq":1,"tsMs":1,"metrics":{"__proto__":5,"t":1}}', "invalid_field", /^metrics: name "__proto__" is reserved$/],
  ])("rejects %s with a precise reason", (_name, payload, code, reason) => {
    const r = decodeReading(enc(payload), "d-1");
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code);
      expect(r.reason).toMatch(reason);
    }
  });

  it("rejects oversized payloads before parsing", () => {
    const r = decodeReading(enc({ ...good, log: "x".repeat(20_000) }), "d-1", { maxPayloadBytes: 16_384, maxMetrics: 64, maxLogLength: 100_000 });
    expect(r).toMatchObject({ ok: false, code: "oversized" });
    if (!r.ok) expect(r.reason).toMatch(/^payload is \d+ bytes, limit is 16384$/);
  });

  it("rejects protobuf with unknown fields", () => {
    const base = toBinary(ReadingSchema, create(ReadingSchema, { deviceId: "d-1", seq: 1n, tsMs: 1n, metrics: { a: 1 } }));
    const extra = new Uint8Array([...base, 0x48, 0x01]); // field 9, varint 1
    expect(decodeReading(extra, "d-1")).toMatchObject({ ok: false, code: "unknown_field" });
  });

  it("never throws and round-trips through the journal encoding (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = decodeReading(bytes, "d-1");
        if (r.ok) expect(decodeJournalReading(encodeReading(r.reading))).toEqual(r.reading);
      }),
    );
    fc.assert(
      fc.property(
        fc.record({
          seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          tsMs: fc.integer({ min: 1, max: MAX_TS_MS }),
          metrics: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => (Object.is(v, -0) ? 0 : v)), { minKeys: 1, maxKeys: 5 }),
        }),
        (r) => {
          const reading = { deviceId: "dev", ...r };
          const d = decodeReading(enc(reading), "dev");
          expect(d).toEqual({ ok: true, reading: { ...reading, metrics: { ...r.metrics } } });
          if (d.ok) expect(decodeJournalReading(encodeReading(d.reading))).toEqual(d.reading);
        },
      ),
    );
  });
});

describe("deviceIdFromTopic", () => {
  it("extracts the device id", () => expect(deviceIdFromTopic("devices/abc_1/readings")).toEqual({ ok: true, deviceId: "abc_1" }));
  it.each(["devices/a/b/readings", "device/a/readings", "devices/a.b/readings", "devices//readings"])("rejects %s", (t) =>
    expect(deviceIdFromTopic(t)).toMatchObject({ ok: false, code: "invalid_topic" }),
  );
});

describe("decodeReadings (one reading or a device's batch)", () => {
  const r1 = { seq: 1, tsMs: 1_700_000_000_000, metrics: { t: 20 } };
  const r2 = { seq: 2, tsMs: 1_700_000_001_000, metrics: { t: 21, h: 40 }, log: "ok" };

  it("accepts a JSON batch, with or without the device id in each reading", () => {
    expect(decodeReadings(enc({ deviceId: "d-1", readings: [r1, { deviceId: "d-1", ...r2 }] }), "d-1")).toEqual({
      ok: true,
      readings: [
        { deviceId: "d-1", ...r1 },
        { deviceId: "d-1", ...r2 },
      ],
    });
    expect(decodeReadings(enc({ readings: [r1] }), "d-1")).toEqual({ ok: true, readings: [{ deviceId: "d-1", ...r1 }] });
  });

  it("accepts a protobuf ReadingBatch; an empty device_id is the topic's device", () => {
    const bytes = toBinary(
      ReadingBatchSchema,
      create(ReadingBatchSchema, {
        readings: [
          create(ReadingSchema, { seq: 1n, tsMs: 1_700_000_000_000n, metrics: { t: 20 } }),
          create(ReadingSchema, { deviceId: "d-1", seq: 2n, tsMs: 1_700_000_001_000n, metrics: { t: 21, h: 40 }, log: "ok" }),
        ],
      }),
    );
    expect(bytes[0]).toBe(0x7a);
    expect(decodeReadings(bytes, "d-1")).toEqual({ ok: true, readings: [{ deviceId: "d-1", ...r1 }, { deviceId: "d-1", ...r2 }] });
  });

  it.each([
    ["an empty batch", { readings: [] }, "invalid_field", /^readings: must contain at least one reading$/],
    ["readings not an array", { readings: 5 }, "invalid_field", /^readings: must be an array of readings, got number 5$/],
    ["a bad reading (named by index)", { readings: [r1, { ...r2, seq: "x" }] }, "invalid_field", /^readings\[1\]\.seq: must be an integer from 0 to 9007199254740991 \(or absent\), got string "x"$/],
    ["a reading of another device", { readings: [r1, { deviceId: "d-2", ...r2 }] }, "topic_mismatch", /^readings\[1\]\.deviceId "d-2" does not match topic device "d-1"$/],
    ["a batch of another device", { deviceId: "d-2", readings: [r1] }, "topic_mismatch", /^deviceId "d-2" does not match topic device "d-1"$/],
    ["an unknown batch field", { readings: [r1], colour: 1 }, "unknown_field", /^unknown field "colour" \(allowed in a batch: deviceId, readings\)$/],
    ["a reading that is not an object", { readings: [r1, 7] }, "invalid_field", /^readings\[1\]: must be a JSON object, got number 7$/],
    ["too many readings", { readings: Array.from({ length: 3 }, (_, i) => ({ ...r1, seq: i + 1 })) }, "invalid_field", /^readings: 3 readings, limit is 2$/],
  ])("rejects %s whole, with a reason naming it", (_name, payload, code, reason) => {
    const r = decodeReadings(enc(payload), "d-1", { ...defaultReadingLimits, maxBatchReadings: 2 });
    expect(r).toMatchObject({ ok: false, code });
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it("decodeReading refuses a batch where one reading is expected", () => {
    expect(decodeReading(enc({ readings: [r1, r2] }), "d-1")).toMatchObject({ ok: false, code: "invalid_field", reason: "expected one reading, got a batch of 2" });
  });
});

describe("journal messages", () => {
  it("a ReadingBatch of any readings decodes to the same readings; a single Reading (older journals) to itself (property)", () => {
    const reading = fc.record({
      deviceId: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
      seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      tsMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      metrics: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), fc.double({ noNaN: true }).map((v) => (Object.is(v, -0) ? 0 : v)), { minKeys: 1, maxKeys: 4 }),
    });
    fc.assert(
      fc.property(fc.array(reading, { minLength: 1, maxLength: 20 }), (rs) => {
        const msg = encodeReadingBatchWire(rs.map(encodeReading));
        expect(decodeJournalReadings(msg)).toEqual(rs.map((r) => ({ ...r, metrics: { ...r.metrics } })));
        expect(decodeJournalReadings(encodeReading(rs[0]!))).toEqual([{ ...rs[0]!, metrics: { ...rs[0]!.metrics } }]);
      }),
    );
  });

  it("a batch cut anywhere throws instead of returning part of it", () => {
    const msg = encodeReadingBatchWire([encodeReading({ deviceId: "a", seq: 1, tsMs: 5, metrics: { t: 1 } }), encodeReading({ deviceId: "b", seq: 2, tsMs: 6, metrics: { t: 2 } })]);
    for (let cut = 1; cut < msg.length; cut++) {
      let threw = false;
      try {
        decodeJournalReadings(msg, 0, cut);
      } catch {
        threw = true;
      }
      // Cutting exactly between the two readings leaves a valid batch of one.
      expect(threw || decodeJournalReadings(msg, 0, cut).length === 1).toBe(true);
    }
  });
});
