import { decodeReadingsWire, decodeReadingWire, isReadingBatch, UnknownFieldError } from "./reading-wire.js";
import { encodeReadingWire } from "./reading-wire-write.js";
import type { Reading } from "../ports/reading.js";
import { clip, DEVICE_ID_RE, defaultReadingLimits, MAX_TS_MS, reject, show, showTs, TS_RULE, utf8, validate, type DecodeManyResult, type DecodeResult, type ReadingLimits, type Rejection } from "./reading-contract.js";
import { decodeJson } from "./reading-json.js";

export { DEVICE_ID_RE, MAX_TS_MS, defaultReadingLimits } from "./reading-contract.js";
export type { DecodeManyResult, DecodeResult, ReadingLimits, Rejection } from "./reading-contract.js";

const TOPIC_PREFIX = "devices/";
const TOPIC_SUFFIX = "/readings";
const TOPIC_MIN = TOPIC_PREFIX.length + TOPIC_SUFFIX.length;

/** Device id from an MQTT topic `devices/<id>/readings`, or a rejection. */
export function deviceIdFromTopic(topic: string): { ok: true; deviceId: string } | ({ ok: false } & Rejection) {
  // Fast path (every message): no split, one regex test.
  if (topic.length > TOPIC_MIN && topic.startsWith(TOPIC_PREFIX) && topic.endsWith(TOPIC_SUFFIX)) {
    const id = topic.slice(TOPIC_PREFIX.length, topic.length - TOPIC_SUFFIX.length);
    if (DEVICE_ID_RE.test(id)) return { ok: true, deviceId: id };
  }
  const parts = topic.split("/");
  if (parts.length !== 3 || parts[0] !== "devices" || parts[2] !== "readings") {
    return { ok: false, code: "invalid_topic", reason: `topic "${clip(topic)}" is not devices/<deviceId>/readings` };
  }
  const id = parts[1]!;
  if (!DEVICE_ID_RE.test(id)) {
    return { ok: false, code: "invalid_topic", reason: `topic device id "${clip(id)}" must match ${DEVICE_ID_RE.source}` };
  }
  return { ok: true, deviceId: id };
}

/**
 * Decode and validate what a device published on `devices/<topicDeviceId>/readings`: one reading,
 * or a batch of them, against the exact input contract (docs/input-contract.md). JSON (first
 * non-blank byte '{'): a reading, or `{"deviceId", "readings": [readings without or with the same
 * deviceId]}`; every field has exactly one JSON type (no coercion: "5" is not 5, null is not
 * absent). Protobuf: shoal.v1.Reading, or shoal.v1.ReadingBatch (device_id of its readings empty
 * or the topic's). `nowMs` (the caller's clock; the codec stays pure): with it, every tsMs must lie
 * in [nowMs − maxAgeMs, nowMs + maxClockSkewMs]; without it, no window is checked. A batch is taken
 * or rejected whole; a reason names the reading (`readings[3].seq: …`). Never throws.
 */
export function decodeReadings(payload: Uint8Array, topicDeviceId: string, limits: ReadingLimits = defaultReadingLimits, nowMs?: number): DecodeManyResult {
  if (payload.length > limits.maxPayloadBytes) {
    return reject("oversized", `payload is ${payload.length} bytes, limit is ${limits.maxPayloadBytes}`);
  }
  if (payload.length === 0) return reject("malformed_protobuf", "payload is empty");
  return looksLikeJson(payload) ? decodeJson(payload, topicDeviceId, limits, nowMs) : decodeProto(payload, topicDeviceId, limits, nowMs);
}

/** {@link decodeReadings} of a payload that must hold exactly one reading (not a batch). Never throws. */
export function decodeReading(payload: Uint8Array, topicDeviceId: string, limits: ReadingLimits = defaultReadingLimits, nowMs?: number): DecodeResult {
  const d = decodeReadings(payload, topicDeviceId, limits, nowMs);
  if (!d.ok) return d;
  if (d.readings.length !== 1) return reject("invalid_field", `expected one reading, got a batch of ${d.readings.length}`);
  return { ok: true, reading: d.readings[0]! };
}

function looksLikeJson(p: Uint8Array): boolean {
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    return c === 0x7b; // '{'
  }
  return false;
}

function decodeProto(payload: Uint8Array, topicDeviceId: string, limits: ReadingLimits, nowMs: number | undefined): DecodeManyResult {
  const raw: Reading[] = [];
  try {
    decodeReadingsWire(payload, 0, payload.length, (r) => raw.push(r), true);
  } catch (e) {
    // A JSON value that is not an object (a bare string, number, array, true/false/null) is JSON
    // sent wrong, not protobuf: say so.
    const json = jsonOtherThanObject(payload);
    if (json !== undefined) return reject("malformed_json", `payload must be a JSON object (a reading or a batch), got ${json}`);
    if (e instanceof UnknownFieldError) return reject("unknown_field", e.message);
    return reject("malformed_protobuf", `payload is neither a JSON object nor a valid shoal.v1.Reading or ReadingBatch: ${(e as Error).message}`);
  }
  const batch = payload[0] === 0x7a;
  const max = limits.maxBatchReadings ?? 1000;
  if (batch && raw.length > max) return reject("invalid_field", `readings: ${raw.length} readings, limit is ${max}`);
  const readings: Reading[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const m = raw[i]!;
    const at = batch ? `readings[${i}].` : "";
    // Protobuf cannot tell ts_ms 0 from absent: both are a missing timestamp.
    if (m.tsMs === 0) return reject("invalid_field", `${at}tsMs: required, ${TS_RULE}`);
    if (m.tsMs > MAX_TS_MS) return reject("invalid_field", `${at}tsMs: must be ${TS_RULE}, got ${showTs(m.tsMs)}`);
    const r = validate(
      { deviceId: batch && m.deviceId === "" ? topicDeviceId : m.deviceId, seq: m.seq, boot: m.boot, tsMs: m.tsMs, metrics: m.metrics, log: m.log },
      topicDeviceId,
      limits,
      at,
      nowMs,
    );
    if (!r.ok) return r;
    readings[i] = r.reading;
  }
  return { ok: true, readings };
}

/** `show()` of the payload when it is JSON but not an object; undefined otherwise. */
function jsonOtherThanObject(p: Uint8Array): string | undefined {
  try {
    return show(JSON.parse(utf8.decode(p)));
  } catch {
    return undefined;
  }
}

/** Encode a validated reading as shoal.v1.Reading protobuf (the journal format). */
export function encodeReading(r: Reading): Uint8Array {
  return encodeReadingWire(r);
}

/** Decode a journal message holding one reading (bytes[start, end)). Throws on corrupt bytes. */
export function decodeJournalReading(bytes: Uint8Array, start = 0, end = bytes.length): Reading {
  const all = decodeJournalReadings(bytes, start, end);
  if (all.length !== 1) throw new RangeError(`journal message holds ${all.length} readings, expected one`);
  return all[0]!;
}

/**
 * Every reading of a journal message (bytes[start, end)): a ReadingBatch written by the bridge,
 * or a single Reading (journals written before batching). Throws on corrupt bytes (nothing of the
 * message is returned then).
 */
export function decodeJournalReadings(bytes: Uint8Array, start = 0, end = bytes.length): Reading[] {
  // A single reading: an array of exactly one, without a collecting callback (a growing array
  // reserves room for 17), since an older journal has one message per reading.
  if (!isReadingBatch(bytes, start, end)) return [journalReading(decodeReadingWire(bytes, start, end))];
  const out: Reading[] = [];
  decodeReadingsWire(bytes, start, end, (r) => out.push(journalReading(r)));
  return out;
}

/** A decoded journal reading, checked: a journal record always names its device. */
function journalReading(r: Reading): Reading {
  if (r.deviceId === "") throw new RangeError("journal message is not a valid shoal.v1.Reading (no device id)");
  return r;
}
