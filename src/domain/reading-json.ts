import type { Reading } from "../ports/reading.js";
import { clip, reject, show, showTs, TS_RULE, MAX_TS_MS, utf8, validate, type DecodeManyResult, type DecodeResult, type ReadingLimits } from "./reading-contract.js";

/**
 * The JSON form of the input contract (docs/input-contract.md): a reading object, or a device's
 * batch `{"deviceId", "readings": [...]}`; every field has exactly one JSON type (no coercion).
 */

const JSON_FIELDS = new Set(["deviceId", "device_id", "seq", "boot", "tsMs", "ts_ms", "metrics", "log"]);
const JSON_BATCH_FIELDS = new Set(["deviceId", "device_id", "readings"]);
/** {@link oneOf}: both names of a field were given. */
const BOTH: unique symbol = Symbol("both");

/** The value of a field that has two JSON names (camelCase and proto3's snake_case): undefined when neither is present. */
function oneOf(o: Record<string, unknown>, camel: string, snake: string): unknown {
  const a = o[camel];
  const b = o[snake];
  if (b === undefined) return a;
  return a === undefined ? b : BOTH;
}

const twice = (at: string, camel: string, snake: string) => reject("invalid_field", `${at}${camel}: given twice (${camel} and ${snake}); send one`);

/** A JSON number that is a non-negative safe integer (−0 read as 0), else undefined. */
function uint(v: unknown): number | undefined {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v + 0 : undefined;
}

export function decodeJson(payload: Uint8Array, topicDeviceId: string, limits: ReadingLimits, nowMs: number | undefined): DecodeManyResult {
  let obj: unknown;
  try {
    obj = JSON.parse(utf8.decode(payload));
  } catch (e) {
    return reject("malformed_json", `payload is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return reject("malformed_json", "payload must be a JSON object");
  const o = obj as Record<string, unknown>;
  if (!("readings" in o)) {
    const r = jsonReading(o, topicDeviceId, limits, "", false, nowMs);
    return r.ok ? { ok: true, readings: [r.reading] } : r;
  }
  for (const k of Object.keys(o)) {
    if (!JSON_BATCH_FIELDS.has(k)) return reject("unknown_field", `unknown field "${clip(k)}" (allowed in a batch: deviceId, readings)`);
  }
  const batchId = oneOf(o, "deviceId", "device_id");
  if (batchId === BOTH) return twice("", "deviceId", "device_id");
  if (batchId !== undefined) {
    if (typeof batchId !== "string") return reject("invalid_field", `deviceId: must be a string, got ${show(batchId)}`);
    if (batchId !== topicDeviceId) return reject("topic_mismatch", `deviceId "${clip(batchId)}" does not match topic device "${topicDeviceId}"`);
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
    if (typeof item !== "object" || item === null || Array.isArray(item)) return reject("invalid_field", `readings[${i}]: must be a JSON object, got ${show(item)}`);
    const r = jsonReading(item as Record<string, unknown>, topicDeviceId, limits, at, true, nowMs);
    if (!r.ok) return r;
    readings[i] = r.reading;
  }
  return { ok: true, readings };
}

/** One JSON reading object; `at` prefixes reasons; in a batch the device id may be left out. */
function jsonReading(o: Record<string, unknown>, topicDeviceId: string, limits: ReadingLimits, at: string, inBatch: boolean, nowMs: number | undefined): DecodeResult {
  for (const k of Object.keys(o)) {
    if (!JSON_FIELDS.has(k)) return reject("unknown_field", `${at}unknown field "${clip(k)}" (allowed: deviceId, seq, boot, tsMs, metrics, log)`);
  }
  const id = oneOf(o, "deviceId", "device_id");
  if (id === BOTH) return twice(at, "deviceId", "device_id");
  if (id === undefined) {
    if (!inBatch) return reject("invalid_field", `${at}deviceId: required`);
  } else if (typeof id !== "string") return reject("invalid_field", `${at}deviceId: must be a string, got ${show(id)}`);
  let seq = 0;
  if (o.seq !== undefined) {
    const v = uint(o.seq);
    if (v === undefined) return reject("invalid_field", `${at}seq: must be an integer from 0 to ${Number.MAX_SAFE_INTEGER} (or absent), got ${show(o.seq)}`);
    seq = v;
  }
  let boot: number | undefined;
  if (o.boot !== undefined) {
    boot = uint(o.boot);
    if (boot === undefined) return reject("invalid_field", `${at}boot: must be an integer from 0 to ${Number.MAX_SAFE_INTEGER} (or absent), got ${show(o.boot)}`);
  }
  const ts = oneOf(o, "tsMs", "ts_ms");
  if (ts === BOTH) return twice(at, "tsMs", "ts_ms");
  if (ts === undefined) return reject("invalid_field", `${at}tsMs: required, ${TS_RULE}`);
  const tsMs = uint(ts);
  if (tsMs === undefined || tsMs === 0 || tsMs > MAX_TS_MS) return reject("invalid_field", `${at}tsMs: must be ${TS_RULE}, got ${showTs(ts)}`);
  const metrics = o.metrics;
  if (metrics === undefined) return reject("invalid_field", `${at}metrics: required, an object of name to number`);
  if (typeof metrics !== "object" || metrics === null || Array.isArray(metrics)) {
    return reject("invalid_field", `${at}metrics: must be an object of name to number, got ${show(metrics)}`);
  }
  const log = o.log;
  if (log !== undefined && typeof log !== "string") return reject("invalid_field", `${at}log: must be a string (or absent), got ${show(log)}`);
  return validate(
    { deviceId: id === undefined ? (inBatch ? topicDeviceId : undefined) : id, seq, boot, tsMs, metrics: metrics as Record<string, unknown>, log },
    topicDeviceId,
    limits,
    at,
    nowMs,
  );
}
