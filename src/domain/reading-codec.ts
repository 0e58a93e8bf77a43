import { fromBinary } from "@bufbuild/protobuf";
import { decodeReadingWire, encodeReadingWire } from "./reading-wire.js";
import { ReadingSchema } from "../gen/shoal/v1/reading_pb.js";
import type { Reading } from "../ports/reading.js";

/** Limits applied to every incoming payload. */
export interface ReadingLimits {
  /** Largest accepted payload in bytes. Default 16 KiB. */
  readonly maxPayloadBytes: number;
  /** Most metrics in one reading. Default 64. */
  readonly maxMetrics: number;
  /** Longest log line in characters. Default 2048. */
  readonly maxLogLength: number;
}

export const defaultReadingLimits: ReadingLimits = { maxPayloadBytes: 16 * 1024, maxMetrics: 64, maxLogLength: 2048 };

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

/** Device ids are safe NATS subject tokens and Msg-Id parts. */
export const DEVICE_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const METRIC_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const JSON_FIELDS = new Set(["deviceId", "device_id", "seq", "tsMs", "ts_ms", "metrics", "log"]);

const reject = (code: Rejection["code"], reason: string): DecodeResult => ({ ok: false, code, reason });

/** Device id from an MQTT topic `devices/<id>/readings`, or a rejection. */
export function deviceIdFromTopic(topic: string): { ok: true; deviceId: string } | ({ ok: false } & Rejection) {
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
 * Decode and validate a reading published on `devices/<topicDeviceId>/readings`.
 * JSON (first non-blank byte '{') and protobuf (shoal.v1.Reading) are accepted. Never throws.
 */
export function decodeReading(payload: Uint8Array, topicDeviceId: string, limits: ReadingLimits = defaultReadingLimits): DecodeResult {
  if (payload.length > limits.maxPayloadBytes) {
    return reject("oversized", `payload is ${payload.length} bytes, limit is ${limits.maxPayloadBytes}`);
  }
  if (payload.length === 0) return reject("malformed_protobuf", "payload is empty");
  return looksLikeJson(payload) ? decodeJson(payload, topicDeviceId, limits) : decodeProto(payload, topicDeviceId, limits);
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

function decodeJson(payload: Uint8Array, topicDeviceId: string, limits: ReadingLimits): DecodeResult {
  let obj: unknown;
  try {
    obj = JSON.parse(utf8.decode(payload));
  } catch (e) {
    return reject("malformed_json", `payload is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return reject("malformed_json", "payload must be a JSON object");
  const o = obj as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!JSON_FIELDS.has(k)) return reject("unknown_field", `unknown field "${clip(k)}" (allowed: deviceId, seq, tsMs, metrics, log)`);
  }
  const deviceId = o.deviceId ?? o.device_id;
  const seq = toInt(o.seq);
  const tsMs = toInt(o.tsMs ?? o.ts_ms);
  if (seq === undefined && o.seq !== undefined) return reject("invalid_field", `seq: must be a positive integer, got ${show(o.seq)}`);
  if (tsMs === undefined && (o.tsMs ?? o.ts_ms) !== undefined) {
    return reject("invalid_field", `tsMs: must be a non-negative integer (ms since epoch), got ${show(o.tsMs ?? o.ts_ms)}`);
  }
  if (o.metrics !== undefined && (typeof o.metrics !== "object" || o.metrics === null || Array.isArray(o.metrics))) {
    return reject("invalid_field", `metrics: must be an object of name to number, got ${show(o.metrics)}`);
  }
  if (o.log !== undefined && o.log !== null && typeof o.log !== "string") return reject("invalid_field", `log: must be a string, got ${show(o.log)}`);
  return validate(
    {
      deviceId: typeof deviceId === "string" ? deviceId : deviceId === undefined ? undefined : String(deviceId),
      seq,
      tsMs,
      metrics: (o.metrics ?? undefined) as Record<string, unknown> | undefined,
      log: typeof o.log === "string" ? o.log : undefined,
    },
    topicDeviceId,
    limits,
  );
}

function decodeProto(payload: Uint8Array, topicDeviceId: string, limits: ReadingLimits): DecodeResult {
  let m;
  try {
    m = fromBinary(ReadingSchema, payload, { readUnknownFields: true });
  } catch (e) {
    return reject("malformed_protobuf", `payload is neither a JSON object nor a valid shoal.v1.Reading: ${(e as Error).message}`);
  }
  if (m.$unknown && m.$unknown.length > 0) {
    return reject("unknown_field", `unknown protobuf field number ${m.$unknown[0]!.no} in shoal.v1.Reading`);
  }
  return validate(
    {
      deviceId: m.deviceId,
      seq: m.seq > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(m.seq),
      tsMs: m.tsMs > BigInt(Number.MAX_SAFE_INTEGER) || m.tsMs < 0n ? undefined : Number(m.tsMs),
      metrics: m.metrics,
      log: m.log,
    },
    topicDeviceId,
    limits,
  );
}

interface Candidate {
  deviceId: string | undefined;
  seq: number | undefined;
  tsMs: number | undefined;
  metrics: Record<string, unknown> | undefined;
  log: string | undefined;
}

function validate(c: Candidate, topicDeviceId: string, limits: ReadingLimits): DecodeResult {
  if (c.deviceId === undefined || c.deviceId === "") return reject("invalid_field", "deviceId: required");
  if (c.deviceId !== topicDeviceId) {
    return reject("topic_mismatch", `deviceId "${clip(c.deviceId)}" does not match topic device "${topicDeviceId}"`);
  }
  if (c.seq === undefined || c.seq < 1) return reject("invalid_field", "seq: required, a positive integer");
  if (c.tsMs === undefined) return reject("invalid_field", "tsMs: required, a non-negative integer (ms since epoch)");
  if (c.metrics === undefined) return reject("invalid_field", "metrics: required, an object of name to number");
  const names = Object.keys(c.metrics);
  if (names.length === 0) return reject("invalid_field", "metrics: must contain at least one metric");
  if (names.length > limits.maxMetrics) return reject("invalid_field", `metrics: ${names.length} metrics, limit is ${limits.maxMetrics}`);
  const metrics: Record<string, number> = {};
  for (const name of names) {
    if (!METRIC_RE.test(name)) return reject("invalid_field", `metrics: name "${clip(name)}" must match ${METRIC_RE.source}`);
    // An own "__proto__" key (JSON.parse makes one) would be dropped by the assignment below.
    if (name === "__proto__") return reject("invalid_field", `metrics: name "__proto__" is reserved`);
    const v = c.metrics[name];
    if (typeof v !== "number" || !Number.isFinite(v)) return reject("invalid_field", `metrics.${name}: must be a finite number, got ${show(v)}`);
    metrics[name] = v;
  }
  if (c.log !== undefined && c.log.length > limits.maxLogLength) {
    return reject("invalid_field", `log: ${c.log.length} characters, limit is ${limits.maxLogLength}`);
  }
  const reading: Reading = c.log === undefined ? { deviceId: c.deviceId, seq: c.seq, tsMs: c.tsMs, metrics } : { deviceId: c.deviceId, seq: c.seq, tsMs: c.tsMs, metrics, log: c.log };
  return { ok: true, reading };
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

/** Decode a journal message (written by the bridge; bytes[start, end)). Throws on corrupt bytes. */
export function decodeJournalReading(bytes: Uint8Array, start = 0, end = bytes.length): Reading {
  const r = decodeReadingWire(bytes, start, end);
  if (r.deviceId === "" || r.seq < 1) throw new RangeError("journal message is not a valid shoal.v1.Reading (no device id or seq)");
  return r;
}
