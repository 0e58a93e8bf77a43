import { fromBinary } from "@bufbuild/protobuf";
import { MAX_TS_MS } from "../../../src/domain/reading-codec.js";
import { ReadingBatchSchema, ReadingSchema, type Reading as PbReading } from "../../../src/gen/shoal/v1/reading_pb.js";
import type { Reading } from "../../../src/ports/reading.js";
import type { Profile } from "./contract.js";

/**
 * The input contract (docs/input-contract.md) stated again, independently of the codec: the
 * topic's form, what an accepted reading must look like, and a reference reading of a JSON
 * payload (JSON.parse, then the contract's rules field by field) and of a protobuf payload
 * (protobuf-es's decoder). ./oracle.ts compares the codec with these.
 */

/** The contract's topic: `devices/<id>/readings`, the id `[A-Za-z0-9_-]{1,128}`. */
export const TOPIC_RE = /^devices\/([A-Za-z0-9_-]{1,128})\/readings$/;
const METRIC_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const READING_KEYS = new Set(["deviceId", "seq", "tsMs", "metrics", "log", "boot"]);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A non-negative safe integer (seq, boot, tsMs). */
export const isUint = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Why `r` is not a reading the contract allows (undefined: it is). */
export function readingProblem(r: Reading, id: string, p: Profile): string | undefined {
  for (const k of Object.keys(r)) if (!READING_KEYS.has(k)) return `unexpected key ${k}`;
  if (r.deviceId !== id) return `deviceId ${JSON.stringify(r.deviceId)} is not the topic's ${id}`;
  if (!isUint(r.seq) || Object.is(r.seq, -0)) return `seq ${String(r.seq)} is not a non-negative safe integer`;
  if (r.boot !== undefined && (!isUint(r.boot) || Object.is(r.boot, -0))) return `boot ${String(r.boot)} is not a non-negative safe integer`;
  if (!isUint(r.tsMs) || r.tsMs < 1 || r.tsMs > MAX_TS_MS) return `tsMs ${String(r.tsMs)} is outside 1..${MAX_TS_MS}`;
  if (p.nowMs !== undefined) {
    const { maxClockSkewMs: skew, maxAgeMs: age } = p.limits;
    if (skew && r.tsMs > p.nowMs + skew) return `tsMs ${r.tsMs} is after now + skew`;
    if (age && r.tsMs < p.nowMs - age) return `tsMs ${r.tsMs} is before now - max age`;
  }
  if (typeof r.metrics !== "object" || r.metrics === null) return "metrics is not an object";
  const names = Object.keys(r.metrics);
  if (names.length < 1 || names.length > p.limits.maxMetrics) return `${names.length} metrics (1 to ${p.limits.maxMetrics} allowed)`;
  for (const n of names) {
    if (!METRIC_RE.test(n) || n === "__proto__") return `metric name ${JSON.stringify(n)}`;
    const v = r.metrics[n];
    if (typeof v !== "number" || !Number.isFinite(v)) return `metric ${n} = ${String(v)} is not finite`;
  }
  if (r.log !== undefined) {
    if (typeof r.log !== "string") return "log is not a string";
    if (r.log.length > p.limits.maxLogLength) return `log of ${r.log.length} characters`;
    if (hasLoneSurrogate(r.log)) return "log holds a lone surrogate";
  }
  return undefined;
}

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (n >= 0xdc00 && n <= 0xdfff) i++;
      else return true;
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

/** The contract's rule for telling JSON from protobuf: the first byte that is not a blank is '{'. */
export function looksLikeJson(b: Uint8Array): boolean {
  for (const c of b) if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return c === 0x7b;
  return false;
}
/**
 * The code the contract's first checks give a payload on a valid topic, in their order (size, then
 * syntax): `oversized` past the limit, `malformed_protobuf` when empty, `malformed_json` when it
 * starts as JSON but is not UTF-8 JSON; undefined when the payload passes them (later rules decide).
 */
export function syntaxCode(payload: Uint8Array, p: Profile): string | undefined {
  if (payload.length > p.limits.maxPayloadBytes) return "oversized";
  if (payload.length === 0) return "malformed_protobuf";
  if (!looksLikeJson(payload)) return undefined;
  try {
    JSON.parse(utf8.decode(payload));
    return undefined;
  } catch {
    return "malformed_json";
  }
}

const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The readings the contract accepts from a JSON payload, or undefined when it rejects it (any code). */
export function referenceJson(payload: Uint8Array, id: string, p: Profile): Reading[] | undefined {
  if (payload.length > p.limits.maxPayloadBytes) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(utf8.decode(payload));
  } catch {
    return undefined;
  }
  if (!isObject(v)) return undefined;
  if (!own(v, "readings")) {
    const r = referenceReading(v, id, p, false);
    return r === undefined ? undefined : [r];
  }
  if (Object.keys(v).some((k) => k !== "deviceId" && k !== "device_id" && k !== "readings")) return undefined;
  if (own(v, "deviceId") && own(v, "device_id")) return undefined;
  const batchId = own(v, "deviceId") ? v.deviceId : own(v, "device_id") ? v.device_id : undefined;
  if (batchId !== undefined && batchId !== id) return undefined;
  const list = v.readings;
  if (!Array.isArray(list) || list.length < 1 || list.length > (p.limits.maxBatchReadings ?? 1000)) return undefined;
  const out: Reading[] = [];
  for (const item of list) {
    const r = referenceReading(item, id, p, true);
    if (r === undefined) return undefined;
    out.push(r);
  }
  return out;
}

function referenceReading(o: unknown, id: string, p: Profile, inBatch: boolean): Reading | undefined {
  if (!isObject(o)) return undefined;
  const allowed = ["deviceId", "device_id", "seq", "boot", "tsMs", "ts_ms", "metrics", "log"];
  if (Object.keys(o).some((k) => !allowed.includes(k))) return undefined;
  if ((own(o, "deviceId") && own(o, "device_id")) || (own(o, "tsMs") && own(o, "ts_ms"))) return undefined;
  const given = own(o, "deviceId") ? o.deviceId : own(o, "device_id") ? o.device_id : undefined;
  if (given === undefined && !inBatch) return undefined;
  if (given !== undefined && given !== id) return undefined;
  if (own(o, "seq") && !isUint(o.seq)) return undefined;
  if (own(o, "boot") && !isUint(o.boot)) return undefined;
  const ts = own(o, "tsMs") ? o.tsMs : own(o, "ts_ms") ? o.ts_ms : undefined;
  if (!isUint(ts) || ts < 1 || ts > MAX_TS_MS) return undefined;
  if (p.nowMs !== undefined) {
    if (p.limits.maxClockSkewMs && ts > p.nowMs + p.limits.maxClockSkewMs) return undefined;
    if (p.limits.maxAgeMs && ts < p.nowMs - p.limits.maxAgeMs) return undefined;
  }
  const m = o.metrics;
  if (!isObject(m)) return undefined;
  const names = Object.keys(m);
  if (names.length < 1 || names.length > p.limits.maxMetrics) return undefined;
  const metrics: Record<string, number> = {};
  for (const n of names) {
    const x = m[n];
    if (!METRIC_RE.test(n) || n === "__proto__" || typeof x !== "number" || !Number.isFinite(x)) return undefined;
    metrics[n] = x;
  }
  if (own(o, "log") && (typeof o.log !== "string" || o.log.length > p.limits.maxLogLength || hasLoneSurrogate(o.log))) return undefined;
  const r: { -readonly [K in keyof Reading]: Reading[K] } = { deviceId: id, seq: own(o, "seq") ? (o.seq as number) + 0 : 0, tsMs: ts + 0, metrics };
  if (own(o, "log")) r.log = o.log as string;
  if (own(o, "boot")) r.boot = (o.boot as number) + 0;
  return r;
}
/** protobuf-es's reading of the payload (Reading, or ReadingBatch when the first byte is field 15's tag), or undefined when it throws; `unknown`: it kept unknown fields. */
export function referenceProto(payload: Uint8Array, id: string): { readings: Reading[]; unknown: boolean; batch: boolean } | undefined {
  const batch = payload[0] === 0x7a;
  let pbs: PbReading[];
  let unknown = false;
  try {
    if (batch) {
      const b = fromBinary(ReadingBatchSchema, payload);
      pbs = b.readings;
      unknown = (b.$unknown?.length ?? 0) > 0;
    } else pbs = [fromBinary(ReadingSchema, payload)];
  } catch {
    return undefined;
  }
  unknown ||= pbs.some((r) => (r.$unknown?.length ?? 0) > 0);
  const readings = pbs.map((r): Reading => {
    const out: { -readonly [K in keyof Reading]: Reading[K] } = { deviceId: batch && r.deviceId === "" ? id : r.deviceId, seq: Number(r.seq), tsMs: Number(r.tsMs), metrics: { ...r.metrics } };
    if (r.log !== undefined) out.log = r.log;
    if (r.boot !== undefined) out.boot = Number(r.boot);
    return out;
  });
  return { readings, unknown, batch };
}

/** Whether protobuf-es's readings would all pass the contract (so a rejection by the codec is "stricter"). */
export function validAll(rs: readonly Reading[], id: string, p: Profile, batch: boolean): boolean {
  if (rs.length < 1 || (batch && rs.length > (p.limits.maxBatchReadings ?? 1000))) return false;
  return rs.every((r) => readingProblem(r, id, p) === undefined);
}
