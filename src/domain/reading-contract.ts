import type { Reading } from "../ports/reading.js";

/**
 * Limits applied to every incoming payload (the input contract: docs/input-contract.md). The
 * bridge fills them from its configuration (src/cli/roles/bridge-role.ts).
 */
export interface ReadingLimits {
  /** Largest accepted payload in bytes. Default 16 KiB. */
  readonly maxPayloadBytes: number;
  /** Most metrics in one reading. Default 64. */
  readonly maxMetrics: number;
  /** Longest log line in characters. Default 2048. */
  readonly maxLogLength: number;
  /** Most readings in one batch payload. Default 1000. */
  readonly maxBatchReadings?: number;
  /**
   * How far after `nowMs` a reading's tsMs may be (device clocks run ahead), ms. 0 or undefined:
   * no upper bound from the clock (the absolute {@link MAX_TS_MS} still holds).
   */
  readonly maxClockSkewMs?: number;
  /**
   * How far before `nowMs` a reading's tsMs may be, ms (the bridge uses the readings' retention:
   * an older reading would be deleted at once). 0 or undefined: no lower bound from the clock.
   */
  readonly maxAgeMs?: number;
}

export const defaultReadingLimits: ReadingLimits = { maxPayloadBytes: 16 * 1024, maxMetrics: 64, maxLogLength: 2048, maxBatchReadings: 1000 };

/**
 * Latest accepted tsMs, whatever the clock: the last millisecond ClickHouse's DateTime (the
 * readings' `ts` column and partition key) holds, 2106-02-07T06:28:15.999Z. Later values would
 * wrap around to 1970 there.
 */
export const MAX_TS_MS = 4_294_967_295_999;

/** Why a payload was rejected: a stable machine code and a message naming the field and rule. */
export interface Rejection {
  readonly code:
    | "oversized"
    | "malformed_json"
    | "malformed_protobuf"
    | "invalid_field"
    | "unknown_field"
    | "topic_mismatch"
    | "invalid_topic"
    /** The device registry (strict mode) does not know the topic's device. */
    | "unknown_device"
    /** The device registry has the topic's device disabled. */
    | "device_disabled";
  readonly reason: string;
}

export type DecodeResult = { readonly ok: true; readonly reading: Reading } | ({ readonly ok: false } & Rejection);

/** Readings of one payload (one, or a device's batch), or why the payload was rejected as a whole. */
export type DecodeManyResult = { readonly ok: true; readonly readings: Reading[] } | ({ readonly ok: false } & Rejection);

/** Device ids are safe NATS subject tokens and Msg-Id parts. */
export const DEVICE_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const METRIC_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** A lone UTF-16 surrogate (JSON allows "\ud800"; UTF-8 and so the journal cannot hold it). */
const LONE_SURROGATE_RE = /\p{Cs}/u;
/** Metric names already checked against METRIC_RE (names repeat reading after reading). */
const goodNames = new Set<string>();

/** A rejection result. */
export const reject = (code: Rejection["code"], reason: string): { ok: false } & Rejection => ({ ok: false, code, reason });

/** Strict UTF-8 (a payload with invalid bytes is malformed). */
export const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The rule of tsMs, as reasons state it. */
export const TS_RULE = `an integer from 1 to ${MAX_TS_MS} (ms since the Unix epoch, up to 2106-02-07T06:28:15.999Z)`;

/** A reading whose JSON types are checked (or that came from protobuf, where types are given). */
export interface Candidate {
  deviceId: string | undefined;
  seq: number;
  boot: number | undefined;
  /** 1 to MAX_TS_MS. */
  tsMs: number;
  metrics: Record<string, unknown>;
  log: string | undefined;
}

/** The rules JSON and protobuf readings share: device, metrics, log, time window. */
export function validate(c: Candidate, topicDeviceId: string, limits: ReadingLimits, at: string, nowMs: number | undefined): DecodeResult {
  if (c.deviceId === undefined || c.deviceId === "") return reject("invalid_field", `${at}deviceId: required`);
  if (c.deviceId !== topicDeviceId) {
    return reject("topic_mismatch", `${at}deviceId "${clip(c.deviceId)}" does not match topic device "${topicDeviceId}"`);
  }
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
  if (c.log !== undefined) {
    if (c.log.length > limits.maxLogLength) return reject("invalid_field", `${at}log: ${c.log.length} characters, limit is ${limits.maxLogLength}`);
    if (LONE_SURROGATE_RE.test(c.log)) return reject("invalid_field", `${at}log: must be valid Unicode text, got a lone surrogate (an unpaired \\uD800–\\uDFFF escape)`);
  }
  if (nowMs !== undefined) {
    const skew = limits.maxClockSkewMs;
    if (skew !== undefined && skew > 0 && c.tsMs > nowMs + skew) {
      return reject("invalid_field", `${at}tsMs: must not be later than now + ${span(skew)} max clock skew (${iso(nowMs + skew)}), got ${iso(c.tsMs)} (${c.tsMs})`);
    }
    const age = limits.maxAgeMs;
    if (age !== undefined && age > 0 && c.tsMs < nowMs - age) {
      return reject("invalid_field", `${at}tsMs: must not be earlier than now − ${span(age)} max age (${iso(nowMs - age)}), got ${iso(c.tsMs)} (${c.tsMs})`);
    }
  }
  const reading: Reading = c.log === undefined ? { deviceId: c.deviceId, seq: c.seq, tsMs: c.tsMs, metrics } : { deviceId: c.deviceId, seq: c.seq, tsMs: c.tsMs, metrics, log: c.log };
  return { ok: true, reading: c.boot === undefined ? reading : { ...reading, boot: c.boot } };
}

/** ISO 8601 of ms since the epoch (or the number, beyond the range of Date). */
function iso(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms`;
}

/** A duration as its largest whole unit: 30d, 5m, 1500ms. */
function span(ms: number): string {
  for (const [unit, n] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) if (ms % n === 0) return `${ms / n}${unit}`;
  return `${ms}ms`;
}

/** {@link show} of a tsMs value, with its ISO time when it is an integer within the range of Date. */
export function showTs(v: unknown): string {
  return typeof v === "number" && Number.isInteger(v) && Math.abs(v) <= 8.64e15 ? `${show(v)} (${iso(v)})` : show(v);
}

export function show(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") {
    // A number in quotes is a string: numbers are JSON numbers (one representation, as in protobuf).
    const hint = v.trim() !== "" && Number.isFinite(Number(v)) ? " (a string, not a JSON number)" : "";
    return `string "${clip(v)}"${hint}`;
  }
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

export function clip(s: string, n = 64): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
