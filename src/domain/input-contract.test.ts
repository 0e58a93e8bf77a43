/**
 * The input contract (docs/input-contract.md), one row per case: every payload a device may send
 * on devices/<id>/readings is accepted as stated or rejected with its code and reason. The rows
 * cover every case of issue 17's bad-input run (wrong types, nulls, timestamps out of any sane
 * range, bare values, ...) and the accepted forms. Duplicates and conflicting duplicates are the
 * device actor's (actors/device, docs/sequence-model.md): the codec takes them as readings.
 */
import { describe, expect, it } from "vitest";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { ReadingBatchSchema, ReadingSchema } from "../gen/shoal/v1/reading_pb.js";
import { decodeReadings, defaultReadingLimits, MAX_TS_MS, type ReadingLimits } from "./reading-codec.js";
import type { Reading } from "../ports/reading.js";

const NOW = Date.parse("2026-12-04T12:00:00.000Z");
const MIN = 60_000;
const DAY = 86_400_000;
/** The bridge's defaults: bridge.maxClockSkew 5m, clickhouse.retention.readings 30d, bridge.maxPayloadReadings (3 here). */
const LIMITS: ReadingLimits = { ...defaultReadingLimits, maxClockSkewMs: 5 * MIN, maxAgeMs: 30 * DAY, maxBatchReadings: 3 };
const T = NOW - MIN;
const ID = "d-1";
const good = { deviceId: ID, seq: 7, tsMs: T, metrics: { temperature: 21.5, humidity: 40 } };
const read = (over: Partial<Reading> = {}): Reading => ({ deviceId: ID, seq: 7, tsMs: T, metrics: { temperature: 21.5, humidity: 40 }, ...over });

type Payload = string | Uint8Array | Record<string, unknown>;
/** What a row expects: the readings decoded, or the rejection's code and reason. */
type Expect = { readonly readings: readonly Reading[] } | { readonly code: string; readonly reason: RegExp | string };
interface Row {
  readonly name: string;
  readonly payload: Payload;
  readonly expect: Expect;
  /** Time of the check; null: no window (decodeReadings without nowMs). Default NOW. */
  readonly now?: number | null;
  readonly limits?: Partial<ReadingLimits>;
  readonly topicDevice?: string;
}

const json = (over: Record<string, unknown>) => ({ ...good, ...over });
const without = (...keys: string[]) => Object.fromEntries(Object.entries(good).filter(([k]) => !keys.includes(k)));
type PbInit = MessageInitShape<typeof ReadingSchema>;
const pb = (r: PbInit) => toBinary(ReadingSchema, create(ReadingSchema, { deviceId: ID, seq: 7n, tsMs: BigInt(T), metrics: { temperature: 21.5, humidity: 40 }, ...r }));
const pbBatch = (rs: PbInit[]) => toBinary(ReadingBatchSchema, create(ReadingBatchSchema, { readings: rs.map((r) => create(ReadingSchema, { seq: 1n, tsMs: BigInt(T), metrics: { t: 1 }, ...r })) }));
const ok = (...readings: Reading[]): Expect => ({ readings });
const no = (code: string, reason: RegExp | string): Expect => ({ code, reason });

const SEQ_RULE = "must be an integer from 0 to 9007199254740991 (or absent)";
const TS_RULE = "must be an integer from 1 to 4294967295999 (ms since the Unix epoch, up to 2106-02-07T06:28:15.999Z)";
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** A reason exactly (as a string) or starting with `prefix` (regex). */
const starts = (prefix: string) => new RegExp(`^${esc(prefix)}`);

const rows: Row[] = [
  // ── accepted forms ───────────────────────────────────────────────────────────────────────────
  { name: "a JSON reading", payload: good, expect: ok(read()) },
  { name: "JSON with boot and log", payload: json({ boot: 3, log: "pump started" }), expect: ok(read({ boot: 3, log: "pump started" })) },
  { name: "JSON without seq (a device without counter): seq 0", payload: without("seq"), expect: ok(read({ seq: 0 })) },
  { name: "JSON seq 0 and boot 0 are values", payload: json({ seq: 0, boot: 0 }), expect: ok(read({ seq: 0, boot: 0 })) },
  { name: "JSON seq 2^53−1", payload: json({ seq: Number.MAX_SAFE_INTEGER }), expect: ok(read({ seq: Number.MAX_SAFE_INTEGER })) },
  { name: "JSON proto3 snake_case names", payload: { device_id: ID, seq: 7, ts_ms: T, metrics: good.metrics }, expect: ok(read()) },
  { name: "JSON integers in any number notation (7.0, 7e0)", payload: `{"deviceId":"d-1","seq":7.0,"tsMs":${T / 1000}e3,"metrics":{"temperature":21.5,"humidity":4e1}}`, expect: ok(read()) },
  { name: "JSON -0 is 0", payload: `{"deviceId":"d-1","seq":-0,"tsMs":${T},"metrics":{"temperature":21.5,"humidity":40}}`, expect: ok(read({ seq: 0 })) },
  { name: "JSON with blanks before the object", payload: ` \n\t${JSON.stringify(good)}`, expect: ok(read()) },
  { name: "JSON with 64 metrics (the limit)", payload: json({ metrics: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`m${i}`, i])) }), expect: ok(read({ metrics: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`m${i}`, i])) })) },
  { name: "JSON log of 2048 characters (the limit)", payload: json({ log: "é".repeat(2048) }), expect: ok(read({ log: "é".repeat(2048) })) },
  { name: "a protobuf Reading", payload: pb({}), expect: ok(read()) },
  { name: "a protobuf Reading with boot 0 (present) and a log", payload: pb({ boot: 0n, log: "x" }), expect: ok(read({ boot: 0, log: "x" })) },
  { name: "a protobuf Reading without seq", payload: pb({ seq: 0n }), expect: ok(read({ seq: 0 })) },

  // ── the time window [now − maxAge, now + maxClockSkew] and the absolute range ─────────────────
  { name: "tsMs at now + maxClockSkew", payload: json({ tsMs: NOW + 5 * MIN }), expect: ok(read({ tsMs: NOW + 5 * MIN })) },
  { name: "tsMs at now − maxAge", payload: json({ tsMs: NOW - 30 * DAY }), expect: ok(read({ tsMs: NOW - 30 * DAY })) },
  {
    name: "tsMs 1 ms after now + maxClockSkew",
    payload: json({ tsMs: NOW + 5 * MIN + 1 }),
    expect: no("invalid_field", `tsMs: must not be later than now + 5m max clock skew (2026-12-04T12:05:00.000Z), got 2026-12-04T12:05:00.001Z (${NOW + 5 * MIN + 1})`),
  },
  {
    name: "tsMs 1 ms before now − maxAge",
    payload: json({ tsMs: NOW - 30 * DAY - 1 }),
    expect: no("invalid_field", `tsMs: must not be earlier than now − 30d max age (2026-11-04T12:00:00.000Z), got 2026-11-04T11:59:59.999Z (${NOW - 30 * DAY - 1})`),
  },
  { name: "tsMs in the year 3000", payload: json({ tsMs: Date.parse("3000-01-01T00:00:00Z") }), expect: no("invalid_field", `tsMs: ${TS_RULE}, got number 32503680000000 (3000-01-01T00:00:00.000Z)`) },
  { name: "tsMs 2^53−1", payload: json({ tsMs: Number.MAX_SAFE_INTEGER }), expect: no("invalid_field", `tsMs: ${TS_RULE}, got number 9007199254740991`) },
  { name: "tsMs 0", payload: json({ tsMs: 0 }), expect: no("invalid_field", `tsMs: ${TS_RULE}, got number 0 (1970-01-01T00:00:00.000Z)`) },
  { name: "tsMs 1 (1970)", payload: json({ tsMs: 1 }), expect: no("invalid_field", "tsMs: must not be earlier than now − 30d max age (2026-11-04T12:00:00.000Z), got 1970-01-01T00:00:00.001Z (1)") },
  { name: "tsMs at the end of 2106 is beyond MAX_TS_MS", payload: json({ tsMs: MAX_TS_MS + 1 }), expect: no("invalid_field", `tsMs: ${TS_RULE}, got number 4294967296000 (2106-02-07T06:28:16.000Z)`), now: null },
  { name: "tsMs 2106 with no window", payload: json({ tsMs: MAX_TS_MS }), expect: ok(read({ tsMs: MAX_TS_MS })), now: null },
  { name: "tsMs 1 with no window (no nowMs)", payload: json({ tsMs: 1 }), expect: ok(read({ tsMs: 1 })), now: null },
  { name: "tsMs a year ahead with maxClockSkew 0 (no upper bound)", payload: json({ tsMs: NOW + 365 * DAY }), expect: ok(read({ tsMs: NOW + 365 * DAY })), limits: { maxClockSkewMs: 0 } },
  { name: "tsMs 1 with maxAge 0 (kept forever: no lower bound)", payload: json({ tsMs: 1 }), expect: ok(read({ tsMs: 1 })), limits: { maxAgeMs: 0 } },
  { name: "tsMs as a numeric string", payload: json({ tsMs: String(T) }), expect: no("invalid_field", `tsMs: ${TS_RULE}, got string "${T}" (a string, not a JSON number)`) },
  { name: "tsMs null", payload: json({ tsMs: null }), expect: no("invalid_field", `tsMs: ${TS_RULE}, got null`) },
  { name: "tsMs true", payload: json({ tsMs: true }), expect: no("invalid_field", `tsMs: ${TS_RULE}, got boolean true`) },
  { name: "tsMs negative", payload: json({ tsMs: -5 }), expect: no("invalid_field", `tsMs: ${TS_RULE}, got number -5 (1969-12-31T23:59:59.995Z)`) },
  { name: "tsMs fractional", payload: json({ tsMs: T + 0.5 }), expect: no("invalid_field", `tsMs: ${TS_RULE}, got number ${T + 0.5}`) },
  { name: "tsMs missing", payload: without("tsMs"), expect: no("invalid_field", `tsMs: required, ${TS_RULE.replace("must be ", "")}`) },
  { name: "tsMs and ts_ms both", payload: json({ ts_ms: T }), expect: no("invalid_field", "tsMs: given twice (tsMs and ts_ms); send one") },

  // ── seq and boot ─────────────────────────────────────────────────────────────────────────────
  { name: "seq true", payload: json({ seq: true }), expect: no("invalid_field", `seq: ${SEQ_RULE}, got boolean true`) },
  { name: "seq null (null is not absent)", payload: json({ seq: null }), expect: no("invalid_field", `seq: ${SEQ_RULE}, got null`) },
  { name: 'seq "5"', payload: json({ seq: "5" }), expect: no("invalid_field", `seq: ${SEQ_RULE}, got string "5" (a string, not a JSON number)`) },
  { name: "seq -1", payload: json({ seq: -1 }), expect: no("invalid_field", `seq: ${SEQ_RULE}, got number -1`) },
  { name: "seq 1.5", payload: json({ seq: 1.5 }), expect: no("invalid_field", `seq: ${SEQ_RULE}, got number 1.5`) },
  { name: "seq 2^53 (not exact in JSON numbers)", payload: `{"deviceId":"d-1","seq":9007199254740992,"tsMs":${T},"metrics":{"t":1}}`, expect: no("invalid_field", `seq: ${SEQ_RULE}, got number 9007199254740992`) },
  { name: "seq an array", payload: json({ seq: [5] }), expect: no("invalid_field", `seq: ${SEQ_RULE}, got an array`) },
  { name: "seq an object", payload: json({ seq: {} }), expect: no("invalid_field", `seq: ${SEQ_RULE}, got an object`) },
  { name: "boot null", payload: json({ boot: null }), expect: no("invalid_field", `boot: ${SEQ_RULE}, got null`) },
  { name: 'boot "3"', payload: json({ boot: "3" }), expect: no("invalid_field", `boot: ${SEQ_RULE}, got string "3" (a string, not a JSON number)`) },
  { name: "boot false", payload: json({ boot: false }), expect: no("invalid_field", `boot: ${SEQ_RULE}, got boolean false`) },

  // ── metrics ──────────────────────────────────────────────────────────────────────────────────
  { name: "metrics []", payload: json({ metrics: [] }), expect: no("invalid_field", "metrics: must be an object of name to number, got an array") },
  { name: "metrics {}", payload: json({ metrics: {} }), expect: no("invalid_field", "metrics: must contain at least one metric") },
  { name: "metrics null", payload: json({ metrics: null }), expect: no("invalid_field", "metrics: must be an object of name to number, got null") },
  { name: 'metrics "t=1"', payload: json({ metrics: "t=1" }), expect: no("invalid_field", 'metrics: must be an object of name to number, got string "t=1"') },
  { name: "metrics missing", payload: without("metrics"), expect: no("invalid_field", "metrics: required, an object of name to number") },
  { name: 'a metric "21.5"', payload: json({ metrics: { t: "21.5" } }), expect: no("invalid_field", 'metrics.t: must be a finite number, got string "21.5" (a string, not a JSON number)') },
  { name: "a metric null", payload: json({ metrics: { t: null } }), expect: no("invalid_field", "metrics.t: must be a finite number, got null") },
  { name: "a metric true", payload: json({ metrics: { t: true } }), expect: no("invalid_field", "metrics.t: must be a finite number, got boolean true") },
  { name: "a metric [1]", payload: json({ metrics: { t: [1] } }), expect: no("invalid_field", "metrics.t: must be a finite number, got an array") },
  { name: "a metric 1e999 (Infinity)", payload: `{"deviceId":"d-1","tsMs":${T},"metrics":{"t":1e999}}`, expect: no("invalid_field", "metrics.t: must be a finite number, got number Infinity") },
  { name: "a metric name with a dot", payload: json({ metrics: { "a.b": 1 } }), expect: no("invalid_field", 'metrics: name "a.b" must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$') },
  { name: "the metric name __proto__", payload: `{"deviceId":"d-1","tsMs":${T},"metrics":{"__proto__":5}}`, expect: no("invalid_field", 'metrics: name "__proto__" is reserved') },
  { name: "65 metrics", payload: json({ metrics: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`m${i}`, i])) }), expect: no("invalid_field", "metrics: 65 metrics, limit is 64") },

  // ── deviceId ─────────────────────────────────────────────────────────────────────────────────
  { name: "deviceId [id]", payload: json({ deviceId: [ID] }), expect: no("invalid_field", "deviceId: must be a string, got an array") },
  { name: "deviceId 17 (a number)", payload: json({ deviceId: 17 }), expect: no("invalid_field", "deviceId: must be a string, got number 17"), topicDevice: "17" },
  { name: "deviceId null", payload: json({ deviceId: null }), expect: no("invalid_field", "deviceId: must be a string, got null") },
  { name: "deviceId missing", payload: without("deviceId"), expect: no("invalid_field", "deviceId: required") },
  { name: 'deviceId ""', payload: json({ deviceId: "" }), expect: no("invalid_field", "deviceId: required") },
  { name: "deviceId and device_id both", payload: json({ device_id: ID }), expect: no("invalid_field", "deviceId: given twice (deviceId and device_id); send one") },
  { name: "topic mismatch", payload: json({ deviceId: "d-2" }), expect: no("topic_mismatch", 'deviceId "d-2" does not match topic device "d-1"') },
  { name: "topic mismatch by case", payload: json({ deviceId: "D-1" }), expect: no("topic_mismatch", 'deviceId "D-1" does not match topic device "d-1"') },

  // ── log ──────────────────────────────────────────────────────────────────────────────────────
  { name: "log null", payload: json({ log: null }), expect: no("invalid_field", "log: must be a string (or absent), got null") },
  { name: "log 5", payload: json({ log: 5 }), expect: no("invalid_field", "log: must be a string (or absent), got number 5") },
  { name: "log of 2049 characters", payload: json({ log: "x".repeat(2049) }), expect: no("invalid_field", "log: 2049 characters, limit is 2048") },
  { name: "log with a lone surrogate escape", payload: `{"deviceId":"d-1","tsMs":${T},"metrics":{"t":1},"log":"a\\ud800b"}`, expect: no("invalid_field", starts("log: must be valid Unicode text, got a lone surrogate")) },

  // ── whole payloads ───────────────────────────────────────────────────────────────────────────
  { name: "a bare string", payload: '"hello"', expect: no("malformed_json", 'payload must be a JSON object (a reading or a batch), got string "hello"') },
  { name: "a bare number", payload: "17", expect: no("malformed_json", "payload must be a JSON object (a reading or a batch), got number 17") },
  { name: "a bare array", payload: JSON.stringify([good]), expect: no("malformed_json", "payload must be a JSON object (a reading or a batch), got an array") },
  { name: "a bare array after blanks", payload: "  [1, 2]", expect: no("malformed_json", "payload must be a JSON object (a reading or a batch), got an array") },
  { name: "bare true", payload: "true", expect: no("malformed_json", "payload must be a JSON object (a reading or a batch), got boolean true") },
  { name: "bare null", payload: "null", expect: no("malformed_json", "payload must be a JSON object (a reading or a batch), got null") },
  { name: "an empty payload", payload: new Uint8Array(0), expect: no("malformed_protobuf", "payload is empty") },
  { name: "broken JSON", payload: '{"deviceId": "d-1",', expect: no("malformed_json", starts("payload is not valid JSON: ")) },
  { name: "JSON with invalid UTF-8", payload: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), expect: no("malformed_json", starts("payload is not valid JSON: ")) },
  { name: "an unknown field", payload: json({ colour: "red" }), expect: no("unknown_field", 'unknown field "colour" (allowed: deviceId, seq, boot, tsMs, metrics, log)') },
  { name: "an own __proto__ field", payload: `{"__proto__":{"x":1},"deviceId":"d-1","tsMs":${T},"metrics":{"t":1}}`, expect: no("unknown_field", starts('unknown field "__proto__"')) },
  { name: "oversized", payload: json({ log: "x".repeat(20_000) }), expect: no("oversized", /^payload is \d+ bytes, limit is 16384$/), limits: { maxLogLength: 100_000 } },
  { name: "oversized at 1 byte over a small limit", payload: "x".repeat(101), expect: no("oversized", "payload is 101 bytes, limit is 100"), limits: { maxPayloadBytes: 100 } },

  // ── batches ──────────────────────────────────────────────────────────────────────────────────
  {
    name: "a JSON batch, device id in the batch, per reading, or not at all",
    payload: { deviceId: ID, readings: [{ seq: 1, tsMs: T, metrics: { t: 1 } }, { deviceId: ID, seq: 2, tsMs: T + 1, metrics: { t: 2 }, boot: 1 }] },
    expect: ok({ deviceId: ID, seq: 1, tsMs: T, metrics: { t: 1 } }, { deviceId: ID, seq: 2, tsMs: T + 1, metrics: { t: 2 }, boot: 1 }),
  },
  { name: "a JSON batch without any device id", payload: { readings: [{ tsMs: T, metrics: { t: 1 } }] }, expect: ok({ deviceId: ID, seq: 0, tsMs: T, metrics: { t: 1 } }) },
  {
    name: "a batch holding one seq twice (duplicates are the device actor's)",
    payload: { readings: [{ seq: 1, tsMs: T, metrics: { t: 1 } }, { seq: 1, tsMs: T + 5, metrics: { t: 9 } }] },
    expect: ok({ deviceId: ID, seq: 1, tsMs: T, metrics: { t: 1 } }, { deviceId: ID, seq: 1, tsMs: T + 5, metrics: { t: 9 } }),
  },
  { name: "a batch deviceId 17", payload: { deviceId: 17, readings: [{ tsMs: T, metrics: { t: 1 } }] }, expect: no("invalid_field", "deviceId: must be a string, got number 17"), topicDevice: "17" },
  { name: "a batch deviceId null", payload: { deviceId: null, readings: [{ tsMs: T, metrics: { t: 1 } }] }, expect: no("invalid_field", "deviceId: must be a string, got null") },
  { name: "a batch of another device", payload: { deviceId: "d-2", readings: [{ tsMs: T, metrics: { t: 1 } }] }, expect: no("topic_mismatch", 'deviceId "d-2" does not match topic device "d-1"') },
  { name: "a batch with deviceId and device_id", payload: { deviceId: ID, device_id: ID, readings: [{ tsMs: T, metrics: { t: 1 } }] }, expect: no("invalid_field", "deviceId: given twice (deviceId and device_id); send one") },
  { name: "a batch with readings []", payload: { readings: [] }, expect: no("invalid_field", "readings: must contain at least one reading") },
  { name: "a batch with readings null", payload: { readings: null }, expect: no("invalid_field", "readings: must be an array of readings, got null") },
  { name: "a batch with readings {}", payload: { readings: {} }, expect: no("invalid_field", "readings: must be an array of readings, got an object") },
  { name: "a batch with a reading that is a number", payload: { readings: [{ tsMs: T, metrics: { t: 1 } }, 7] }, expect: no("invalid_field", "readings[1]: must be a JSON object, got number 7") },
  { name: "a batch with a reading null", payload: { readings: [null] }, expect: no("invalid_field", "readings[0]: must be a JSON object, got null") },
  { name: "a batch with a bad seq: rejected whole, the reading named", payload: { readings: [{ tsMs: T, metrics: { t: 1 } }, { seq: null, tsMs: T, metrics: { t: 1 } }] }, expect: no("invalid_field", `readings[1].seq: ${SEQ_RULE}, got null`) },
  { name: "a batch with a reading of another device", payload: { readings: [{ deviceId: "d-2", tsMs: T, metrics: { t: 1 } }] }, expect: no("topic_mismatch", 'readings[0].deviceId "d-2" does not match topic device "d-1"') },
  { name: "a batch with a reading out of the window", payload: { readings: [{ tsMs: T, metrics: { t: 1 } }, { tsMs: 1, metrics: { t: 1 } }] }, expect: no("invalid_field", starts("readings[1].tsMs: must not be earlier than now − 30d max age")) },
  { name: "a batch over maxBatchReadings", payload: { readings: Array.from({ length: 4 }, (_, i) => ({ seq: i + 1, tsMs: T, metrics: { t: 1 } })) }, expect: no("invalid_field", "readings: 4 readings, limit is 3") },
  { name: "a batch with an unknown field", payload: { readings: [{ tsMs: T, metrics: { t: 1 } }], seq: 1 }, expect: no("unknown_field", 'unknown field "seq" (allowed in a batch: deviceId, readings)') },
  { name: "a batch reading with an unknown field", payload: { readings: [{ tsMs: T, metrics: { t: 1 }, x: 1 }] }, expect: no("unknown_field", starts('readings[0].unknown field "x"')) },

  // ── protobuf ─────────────────────────────────────────────────────────────────────────────────
  { name: "protobuf without ts_ms (0 is absent in proto3)", payload: pb({ tsMs: 0n }), expect: no("invalid_field", `tsMs: required, ${TS_RULE.replace("must be ", "")}`) },
  { name: "protobuf ts_ms in the year 3000", payload: pb({ tsMs: 32503680000000n }), expect: no("invalid_field", `tsMs: ${TS_RULE}, got number 32503680000000 (3000-01-01T00:00:00.000Z)`) },
  { name: "protobuf ts_ms 2^53−1", payload: pb({ tsMs: BigInt(Number.MAX_SAFE_INTEGER) }), expect: no("invalid_field", `tsMs: ${TS_RULE}, got number 9007199254740991`) },
  { name: "protobuf ts_ms 1 (1970)", payload: pb({ tsMs: 1n }), expect: no("invalid_field", starts("tsMs: must not be earlier than now − 30d max age")) },
  { name: "protobuf ts_ms 10 min ahead", payload: pb({ tsMs: BigInt(NOW + 10 * MIN) }), expect: no("invalid_field", starts("tsMs: must not be later than now + 5m max clock skew (2026-12-04T12:05:00.000Z), got 2026-12-04T12:10:00.000Z")) },
  { name: "protobuf ts_ms negative", payload: pb({ tsMs: -1n }), expect: no("malformed_protobuf", /ts_ms is not a non-negative safe integer$/) },
  { name: "protobuf seq above 2^53−1", payload: pb({ seq: 2n ** 53n }), expect: no("malformed_protobuf", /seq is not a non-negative safe integer$/) },
  { name: "protobuf without device_id", payload: pb({ deviceId: "" }), expect: no("invalid_field", "deviceId: required") },
  { name: "protobuf of another device", payload: pb({ deviceId: "d-2" }), expect: no("topic_mismatch", 'deviceId "d-2" does not match topic device "d-1"') },
  { name: "protobuf without metrics", payload: pb({ metrics: {} }), expect: no("invalid_field", "metrics: must contain at least one metric") },
  { name: "protobuf metric NaN", payload: pb({ metrics: { t: Number.NaN } }), expect: no("invalid_field", "metrics.t: must be a finite number, got number NaN") },
  { name: "protobuf metric -Infinity", payload: pb({ metrics: { t: -Infinity } }), expect: no("invalid_field", "metrics.t: must be a finite number, got number -Infinity") },
  { name: "protobuf with an unknown field", payload: new Uint8Array([...pb({}), 0x48, 0x01]), expect: no("unknown_field", "unknown protobuf field number 9 in shoal.v1.Reading") },
  { name: "protobuf bytes cut short", payload: pb({}).subarray(0, 6), expect: no("malformed_protobuf", starts("payload is neither a JSON object nor a valid shoal.v1.Reading or ReadingBatch: ")) },
  { name: "random bytes", payload: new Uint8Array([0xff, 0xff, 0xff, 0xff]), expect: no("malformed_protobuf", starts("payload is neither a JSON object nor a valid")) },
  {
    name: "a protobuf ReadingBatch (empty device_id: the topic's device)",
    payload: pbBatch([{ seq: 1n }, { deviceId: ID, seq: 2n }]),
    expect: ok({ deviceId: ID, seq: 1, tsMs: T, metrics: { t: 1 } }, { deviceId: ID, seq: 2, tsMs: T, metrics: { t: 1 } }),
  },
  { name: "a protobuf ReadingBatch with a reading out of the window", payload: pbBatch([{ seq: 1n }, { seq: 2n, tsMs: BigInt(NOW + DAY) }]), expect: no("invalid_field", starts("readings[1].tsMs: must not be later than now + 5m max clock skew")) },
  { name: "a protobuf ReadingBatch with a reading without ts_ms", payload: pbBatch([{ seq: 1n, tsMs: 0n }]), expect: no("invalid_field", starts("readings[0].tsMs: required")) },
  { name: "a protobuf ReadingBatch with a reading of another device", payload: pbBatch([{ deviceId: "d-2" }]), expect: no("topic_mismatch", 'readings[0].deviceId "d-2" does not match topic device "d-1"') },
  { name: "a protobuf ReadingBatch over maxBatchReadings", payload: pbBatch([{ seq: 1n }, { seq: 2n }, { seq: 3n }, { seq: 4n }]), expect: no("invalid_field", "readings: 4 readings, limit is 3") },
];

const bytes = (p: Payload): Uint8Array => (p instanceof Uint8Array ? p : new TextEncoder().encode(typeof p === "string" ? p : JSON.stringify(p)));

describe("the input contract (docs/input-contract.md)", () => {
  it.each(rows.map((r) => [r.name, r] as const))("%s", (_name, row) => {
    const limits = { ...LIMITS, ...row.limits };
    const now = row.now === null ? undefined : (row.now ?? NOW);
    const got = decodeReadings(bytes(row.payload), row.topicDevice ?? ID, limits, now);
    if ("readings" in row.expect) {
      expect(got).toEqual({ ok: true, readings: row.expect.readings });
    } else {
      expect(got).toMatchObject({ ok: false, code: row.expect.code });
      if (!got.ok) {
        if (typeof row.expect.reason === "string") expect(got.reason).toBe(row.expect.reason);
        else expect(got.reason).toMatch(row.expect.reason);
      }
    }
  });

  it("has no two rows of the same name", () => {
    expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
  });

  it("checks no window without nowMs, whatever the limits", () => {
    expect(decodeReadings(bytes(json({ tsMs: 1 })), ID, LIMITS)).toMatchObject({ ok: true });
  });
});
