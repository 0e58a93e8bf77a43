import { Code, ConnectError } from "@connectrpc/connect";
import { DEVICE_ID_RE } from "../domain/reading-codec.js";

/**
 * Request validation of the query service: every bad argument is INVALID_ARGUMENT with a reason
 * naming the field. Limits are the service's, not the caller's to raise.
 */

/** Oldest and newest time a query may name: 2000-01-01 .. 2100-01-01. */
export const MIN_TIME_MS = 946_684_800_000;
export const MAX_TIME_MS = 4_102_444_800_000;
/** Metric names as devices may send them (the bridge checks the same length). */
const METRIC_RE = /^[\p{L}\p{N}_.:/ -]{1,128}$/u;
const PREFIX_RE = /^[A-Za-z0-9_-]{0,128}$/;

export function invalid(field: string, reason: string): ConnectError {
  return new ConnectError(`${field}: ${reason}`, Code.InvalidArgument);
}

export function deviceId(v: string, field = "device_id"): string {
  if (v === "") throw invalid(field, "required");
  if (!DEVICE_ID_RE.test(v)) throw invalid(field, `must match ${DEVICE_ID_RE.source}`);
  return v;
}

/** A device id or "" (the whole fleet). */
export function optionalDeviceId(v: string, field = "device_id"): string {
  return v === "" ? "" : deviceId(v, field);
}

export function idPrefix(v: string): string {
  if (!PREFIX_RE.test(v)) throw invalid("id_prefix", `must match ${PREFIX_RE.source}`);
  return v;
}

export function metric(v: string, field = "metric"): string {
  if (v === "") throw invalid(field, "required");
  if (!METRIC_RE.test(v)) throw invalid(field, "must be 1-128 letters, digits, spaces or _ . : / -");
  return v;
}

/** A count with a default for 0 and a maximum. */
export function limit(v: number, field: string, def: number, max: number): number {
  if (v === 0) return def;
  if (!Number.isInteger(v) || v < 1 || v > max) throw invalid(field, `must be between 1 and ${max} (0 means ${def})`);
  return v;
}

export function time(v: bigint, field: string): number {
  const n = Number(v);
  if (n < MIN_TIME_MS || n > MAX_TIME_MS) throw invalid(field, `must be ms since the epoch between ${MIN_TIME_MS} and ${MAX_TIME_MS}`);
  return n;
}

/** A range [from, to): both required, from < to, at most `maxSpanMs` long. */
export function range(from: bigint, to: bigint, maxSpanMs: number, fields: [string, string] = ["from_ms", "to_ms"]): { fromMs: number; toMs: number } {
  const fromMs = time(from, fields[0]);
  const toMs = time(to, fields[1]);
  if (fromMs >= toMs) throw invalid(fields[1], `must be after ${fields[0]}`);
  if (toMs - fromMs > maxSpanMs) throw invalid(fields[1], `range longer than ${Math.round(maxSpanMs / 86_400_000)} days`);
  return { fromMs, toMs };
}

/** A window length in ms with a default for 0. */
export function windowMs(v: bigint, field: string, def: number, max: number): number {
  const n = Number(v);
  if (n === 0) return def;
  if (n < 1 || n > max) throw invalid(field, `must be between 1 and ${max} ms (0 means ${def})`);
  return n;
}

export function score(v: number, field: string): number {
  if (!(v >= 0 && v <= 1)) throw invalid(field, "must be between 0 and 1");
  return v;
}

/** Free text to search by meaning. */
export function text(v: string, field: string, maxChars: number): string {
  const t = v.trim();
  if (t === "") throw invalid(field, "required");
  if (t.length > maxChars) throw invalid(field, `longer than ${maxChars} characters`);
  return t;
}
