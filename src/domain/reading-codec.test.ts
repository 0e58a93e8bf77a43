import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { create, toBinary } from "@bufbuild/protobuf";
import { ReadingSchema } from "../gen/shoal/v1/reading_pb.js";
import { decodeJournalReading, decodeReading, deviceIdFromTopic, encodeReading } from "./reading-codec.js";

const enc = (o: unknown) => new TextEncoder().encode(typeof o === "string" ? o : JSON.stringify(o));
const good = { deviceId: "d-1", seq: 7, tsMs: 1_700_000_000_000, metrics: { temperature: 21.5, humidity: 40 } };

describe("decodeReading", () => {
  it("accepts a valid JSON reading", () => {
    expect(decodeReading(enc(good), "d-1")).toEqual({ ok: true, reading: good });
  });

  it("accepts snake_case and string integers (proto3 JSON)", () => {
    const r = decodeReading(enc({ device_id: "d-1", seq: "7", ts_ms: "1700000000000", metrics: { t: 1 }, log: "hello" }), "d-1");
    expect(r).toEqual({ ok: true, reading: { deviceId: "d-1", seq: 7, tsMs: 1_700_000_000_000, metrics: { t: 1 }, log: "hello" } });
  });

  it("accepts a valid protobuf reading", () => {
    const bytes = toBinary(ReadingSchema, create(ReadingSchema, { deviceId: "d-1", seq: 7n, tsMs: 1_700_000_000_000n, metrics: { temperature: 21.5, humidity: 40 } }));
    expect(decodeReading(bytes, "d-1")).toEqual({ ok: true, reading: good });
  });

  it.each([
    ["malformed JSON", "{not json", "malformed_json", /not valid JSON/],
    ["a JSON array", "[1,2]", "malformed_protobuf", /neither a JSON object nor a valid/],
    ["wrong type of seq", { ...good, seq: "seven" }, "invalid_field", /^seq: must be a positive integer, got string "seven"$/],
    ["negative seq", { ...good, seq: -1 }, "invalid_field", /^seq: must be a positive integer, got number -1$/],
    ["zero seq", { ...good, seq: 0 }, "invalid_field", /^seq: required, a positive integer$/],
    ["fractional ts", { ...good, tsMs: 1.5 }, "invalid_field", /^tsMs: must be a non-negative integer/],
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
          tsMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
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
