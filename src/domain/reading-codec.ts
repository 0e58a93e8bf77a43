import { decodeReadingsWire, encodeReadingWire, UnknownFieldError } from "./reading-wire.js";
import type { Reading } from "../ports/reading.js";

/** Limits applied to every incoming payload. */
export interface ReadingLimits {
  /** Largest accepted payload in bytes. Default 16 KiB. */
  readonly maxPayloadBytes: number;
  /** Most metrics in one reading. Default 64. */
  readonly maxMetrics: number;
  /** Longest log line in characters. Default 2048. */
  readonly maxLogLength: number;
  /** Most readings in one batch payload. Default 1000. */
  readonly maxBatchReadings?: number;
}

export const defaultReadingLimits: ReadingLimits = { maxPayloadBytes: 16 * 1024, maxMetrics: 64, maxLogLength: 2048, maxBatchReadings: 1000 };

/** Why a payload was rejected: a stable machine code and a message naming the field and rule. */
export interface Rejection {
  readonly code:
    | "oversized"
    | "malformed_json"
    | "malformed_protobuf"
    | "invalid_field"
    | "unknown_field"
    | "topic_mismatch"
    | "invalid_topic";
  readonly reason: string;
}

export type DecodeResult = { readonly ok: true; readonly reading: Reading } | ({ readonly ok: false } & Rejection);

/** Readings of one payload (one, or a device's batch), or why the payload was rejected as a whole. */
export type DecodeManyResult = { readonly ok: true; readonly readings: Reading[] } | ({ readonly ok: false } & Rejection);

/** Device ids are safe NATS subject tokens and Msg-Id parts. */
export const DEVICE_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const METRIC_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const JSON_FIELDS = new Set(["deviceId", "device_id", "seq", "boot", "tsMs", "ts_ms", "metrics", "log"]);
const JSON_BATCH_FIELDS = new Set(["deviceId", "device_id", "readings"]);
/** Metric names already checked against METRIC_RE (names repeat reading after reading). */
const goodNames = new Set<string>();

const reject = (code: Rejection["code"], reason: string): { ok: false } & Rejection => ({ ok: false, code, reason });

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
 * or a batch of them. JSON (first non-blank byte '{'): a reading, or `{"deviceId", "readings":
 * [readings without or with the same deviceId]}`. Protobuf: shoal.v1.Reading, or
 * shoal.v1.ReadingBatch (device_id of its readings empty or the topic's). A batch is taken or
 * rejected whole; a reason names the reading (`readings[3].seq: …`). Never throws.
 */
export function decodeReadings(payload: Uint8Array, topicDeviceId: string, limits: ReadingLimits = defaultReadingLimits): DecodeManyResult {
  if (payload.length > limits.maxPayloadBytes) {
    return reject("oversized", `payload is ${payload.length} bytes, limit is ${limits.maxPayloadBytes}`);
  }
  if (payload.length === 0) return reject("malformed_protobuf", "payload is empty");
  return looksLikeJson(payload) ? decodeJson(payload, topicDeviceId, limits) : decodeProto(payload, topicDeviceId, limits);
}

/** {@link decodeReadings} of a payload that must hold exactly one reading (not a batch). Never throws. */
export function decodeReading(payload: Uint8Array, topicDeviceId: string, limits: ReadingLimits = defaultReadingLimits): DecodeResult {
  const d = decodeReadings(payload, topicDeviceId, limits);
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

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeJson(payload: Uint8Array, topicDeviceId: string, limits: ReadingLimits): DecodeManyResult {
  let obj: unknown;
  try {
    obj = JSON.parse(utf8.decode(payload));
  } catch (e) {
    return reject("malformed_json", `payload is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return reject("malformed_json", "payload must be a JSON object");
  const o = obj as Record<string, unknown>;
  if (!("readings" in o)) {
    const r = jsonReading(o, topicDeviceId, limits, "", false);
    return r.ok ? { ok: true, readings: [r.reading] } : r;
  }
  for (const k of Object.keys(o)) {
    if (!JSON_BATCH_FIELDS.has(k)) return reject("unknown_field", `unknown field "${clip(k)}" (allowed in a batch: deviceId, readings)`);
  }
  const batchId = o.deviceId ?? o.device_id;
  if (batchId !== undefined && batchId !== topicDeviceId) {
    return reject("topic_mismatch", `deviceId "${clip(String(batchId))}" does not match topic device "${topicDeviceId}"`);
  }
  const list = o.readings;
  if (!Array.isArray(list)) return reject("invalid_field", `readings: must be an array of readings, got ${show(list)}`);
  const max = limits.maxBatchReadings ?? 1000;
  if (list.length === 0) return reject("invalid_field", "readings: must contain at least one reading");
  if (list.length > max) return reject("invalid_field", `readings: ${list.length} readings, limit is ${max}`);
  const readings: Reading[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    const at = `readings[${i}].`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) return reject("invalid_field", `${at.slice(0, -1)}: must be a JSON object`);
    const r = jsonReading(item as Record<string, unknown>, topicDeviceId, limits, at, true);
    if (!r.ok) return r;
    readings[i] = r.reading;
  }
  return { ok: true, readings };
}

/** One JSON reading object; `at` prefixes reasons; in a batch the device id may be left out. */
function jsonReading(o: Record<string, unknown>, topicDeviceId: string, limits: ReadingLimits, at: string, inBatch: boolean): DecodeResult {
  for (const k of Object.keys(o)) {
    if (!JSON_FIELDS.has(k)) return reject("unknown_field", `${at}unknown field "${clip(k)}" (allowed: deviceId, seq, boot, tsMs, metrics, log)`);
  }
  const deviceId = o.deviceId ?? o.device_id ?? (inBatch ? topicDeviceId : undefined);
  const seq = o.seq === undefined || o.seq === null ? 0 : toInt(o.seq);
  const boot = o.boot === undefined || o.boot === null ? undefined : toInt(o.boot);
  const tsMs = toInt(o.tsMs ?? o.ts_ms);
  if (seq === undefined) return reject("invalid_field", `${at}seq: must be a non-negative integer (or absent), got ${show(o.seq)}`);
  if (boot === undefined && o.boot !== undefined && o.boot !== null) return reject("invalid_field", `${at}boot: must be a non-negative integer (or absent), got ${show(o.boot)}`);
  if (tsMs === undefined && (o.tsMs ?? o.ts_ms) !== undefined) {
    return reject("invalid_field", `${at}tsMs: must be a non-negative integer (ms since epoch), got ${show(o.tsMs ?? o.ts_ms)}`);
  }
  if (o.metrics !== undefined && (typeof o.metrics !== "object" || o.metrics === null || Array.isArray(o.metrics))) {
    return reject("invalid_field", `${at}metrics: must be an object of name to number, got ${show(o.metrics)}`);
  }
  if (o.log !== undefined && o.log !== null && typeof o.log !== "string") return reject("invalid_field", `${at}log: must be a string, got ${show(o.log)}`);
  return validate(
    {
      deviceId: typeof deviceId === "string" ? deviceId : deviceId === undefined ? undefined : String(deviceId),
      seq,
      boot,
      tsMs,
      metrics: (o.metrics ?? undefined) as Record<string, unknown> | undefined,
      log: typeof o.log === "string" ? o.log : undefined,
    },
    topicDeviceId,
    limits,
    at,
  );
}

function decodeProto(payload: Uint8Array, topicDeviceId: string, limits: ReadingLimits): DecodeManyResult {
  const raw: Reading[] = [];
  try {
    decodeReadingsWire(payload, 0, payload.length, (r) => raw.push(r), true);
  } catch (e) {
    if (e instanceof UnknownFieldError) return reject("unknown_field", e.message);
    return reject("malformed_protobuf", `payload is neither a JSON object nor a valid shoal.v1.Reading or ReadingBatch: ${(e as Error).message}`);
  }
  const batch = payload[0] === 0x7a;
  const max = limits.maxBatchReadings ?? 1000;
  if (batch && raw.length > max) return reject("invalid_field", `readings: ${raw.length} readings, limit is ${max}`);
  const readings: Reading[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const m = raw[i]!;
    const r = validate(
      { deviceId: batch && m.deviceId === "" ? topicDeviceId : m.deviceId, seq: m.seq, boot: m.boot, tsMs: m.tsMs, metrics: m.metrics, log: m.log },
      topicDeviceId,
      limits,
      batch ? `readings[${i}].` : "",
    );
    if (!r.ok) return r;
    readings[i] = r.reading;
  }
  return { ok: true, readings };
}

interface Candidate {
  deviceId: string | undefined;
  seq: number;
  boot: number | undefined;
  tsMs: number | undefined;
  metrics: Record<string, unknown> | undefined;
  log: string | undefined;
}

function validate(c: Candidate, topicDeviceId: string, limits: ReadingLimits, at: string): DecodeResult {
  if (c.deviceId === undefined || c.deviceId === "") return reject("invalid_field", `${at}deviceId: required`);
  if (c.deviceId !== topicDeviceId) {
    return reject("topic_mismatch", `${at}deviceId "${clip(c.deviceId)}" does not match topic device "${topicDeviceId}"`);
  }
  if (c.tsMs === undefined) return reject("invalid_field", `${at}tsMs: required, a non-negative integer (ms since epoch)`);
  if (c.metrics === undefined) return reject("invalid_field", `${at}metrics: required, an object of name to number`);
  const names = Object.keys(c.metrics);
  if (names.length === 0) return reject("invalid_field", `${at}metrics: must contain at least one metric`);
  if (names.length > limits.maxMetrics) return reject("invalid_field", `${at}metrics: ${names.length} metrics, limit is ${limits.maxMetrics}`);
  const metrics: Record<string, number> = {};
  for (const name of names) {
    if (!goodNames.has(name)) {
      if (!METRIC_RE.test(name)) return reject("invalid_field", `${at}metrics: name "${clip(name)}" must match ${METRIC_RE.source}`);
      // An own "__proto__" key (JSON.parse makes one) would be dropped by the assignment below.
      if (name === "__proto__") return reject("invalid_field", `${at}metrics: name "__proto__" is reserved`);
      if (goodNames.size < 4096) goodNames.add(name);
    }
    const v = c.metrics[name];
    if (typeof v !== "number" || !Number.isFinite(v)) return reject("invalid_field", `${at}metrics.${name}: must be a finite number, got ${show(v)}`);
    metrics[name] = v;
  }
  if (c.log !== undefined && c.log.length > limits.maxLogLength) {
    return reject("invalid_field", `${at}log: ${c.log.length} characters, limit is ${limits.maxLogLength}`);
  }
  const reading: Reading = c.log === undefined ? { deviceId: c.deviceId, seq: c.seq, tsMs: c.tsMs, metrics } : { deviceId: c.deviceId, seq: c.seq, tsMs: c.tsMs, metrics, log: c.log };
  return { ok: true, reading: c.boot === undefined ? reading : { ...reading, boot: c.boot } };
}

function toInt(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v === "string" && /^\d{1,16}$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

function show(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `string "${clip(v)}"`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

function clip(s: string, n = 64): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
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
  const out: Reading[] = [];
  decodeReadingsWire(bytes, start, end, (r) => {
    if (r.deviceId === "") throw new RangeError("journal message is not a valid shoal.v1.Reading (no device id)");
    out.push(r);
  });
  return out;
}
