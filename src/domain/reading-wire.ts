import type { Reading } from "../ports/reading.js";
import { ShoalError } from "../base/errors.js";

/**
 * Hand-written protobuf wire codec of shoal.v1.Reading for the hot path: the runtime's decoder
 * (the bridge's encoder is reading-wire-write.ts). protobuf-es's reflective codec handles the
 * `map<string, double>` field at ~30–80k readings/s on this machine; this one is an order of
 * magnitude faster. It accepts exactly the proto3 wire format (property-tested against
 * protobuf-es in reading-wire.test.ts).
 *
 * Field numbers: 1 device_id (string), 2 seq (uint64), 3 ts_ms (int64), 4 metrics (map entry:
 * 1 key string, 2 value double), 5 log (optional string).
 */

const utf8Dec = new TextDecoder("utf-8", { fatal: true });

/**
 * TextDecoder costs about a microsecond per call for short strings; device ids and metric names
 * are short ASCII, so they take a plain loop. A short ASCII string from bytes in one allocation (building it by `+=` allocates one
 * intermediate string per character; `String.fromCharCode.apply` over a subarray and Buffer's
 * latin1Slice measured slower for ids of 4–16 characters).
 */
function asciiStr(b: Uint8Array, s: number, e: number): string {
  switch (e - s) {
    case 0: return "";
    case 1: return String.fromCharCode(b[s]!);
    case 2: return String.fromCharCode(b[s]!, b[s + 1]!);
    case 3: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!);
    case 4: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
    case 5: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
    case 6: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
    case 7: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
    case 8: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
    case 9: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!);
    case 10: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!);
    case 11: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!);
    case 12: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!);
    case 13: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!);
    case 14: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!);
    case 15: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!);
    case 16: return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!, b[s + 15]!);
  }
  let out = "";
  for (let i = s; i < e; i++) out += String.fromCharCode(b[i]!);
  return out;
}

/** A UTF-8 string field; invalid UTF-8 throws (as protobuf-es does for proto3 strings). */
function decodeStr(b: Uint8Array, s: number, e: number): string {
  if (e - s > 64) return utf8Dec.decode(b.subarray(s, e));
  for (let i = s; i < e; i++) if (b[i]! > 0x7f) return utf8Dec.decode(b.subarray(s, e));
  return asciiStr(b, s, e);
}

// Metric names repeat reading after reading: a direct-mapped cache (FNV-1a of the bytes, checked
// byte by byte on a hit) returns the same string each time, so decoding a name allocates nothing
// and the string's hash and internalization (it becomes a property key) are computed once. Device
// ids are not cached: there are more of them than any small cache holds, and a thrashing cache
// costs more than it saves (measured with 10k devices).
const KEY_CACHE_SIZE = 256;
const keyCache: string[] = new Array<string>(KEY_CACHE_SIZE).fill("");

function decodeKey(b: Uint8Array, s: number, e: number): string {
  const n = e - s;
  if (n > 64) return utf8Dec.decode(b.subarray(s, e));
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c > 0x7f) return utf8Dec.decode(b.subarray(s, e));
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h ^ (h >>> 15)) & (KEY_CACHE_SIZE - 1);
  const hit = keyCache[slot]!;
  if (hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === b[s + i]) i++;
    if (i === n) return hit;
  }
  const out = asciiStr(b, s, e);
  keyCache[slot] = out;
  return out;
}

// Decoder cursor: module-level so the hot path allocates no closures (decoding is synchronous).
let buf: Uint8Array = new Uint8Array(0);
let pos = 0;
let lim = 0;

function readVarint(): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= lim) throw new RangeError("truncated varint");
    const c = buf[pos++]!;
    result += (c & 0x7f) * mul;
    if (c < 0x80) return result;
    mul *= 128;
  }
  throw new RangeError("varint too long");
}

/** Reads a length prefix; returns the end of the field (pos is at its start). */
function readLength(): number {
  const len = readVarint();
  const end = pos + len;
  if (end > lim) throw new RangeError("truncated length-delimited field");
  return end;
}

function skipField(wt: number): void {
  if (wt === 0) readVarint();
  else if (wt === 1) pos += 8;
  else if (wt === 2) pos = readLength();
  else if (wt === 5) pos += 4;
  else throw new RangeError(`unsupported wire type ${wt}`);
  if (pos > lim) throw new RangeError("truncated field");
}

// Doubles are read by copying their 8 bytes into a scratch Float64Array (a DataView per value
// was an allocation per metric). Wire doubles are little-endian; on a big-endian host the bytes go
// in reversed.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

function readDouble(): number {
  const p = pos;
  if (p + 8 > lim) throw new RangeError("truncated double");
  const b = buf;
  const d = f64Bytes;
  if (LITTLE_ENDIAN) {
    d[0] = b[p]!;
    d[1] = b[p + 1]!;
    d[2] = b[p + 2]!;
    d[3] = b[p + 3]!;
    d[4] = b[p + 4]!;
    d[5] = b[p + 5]!;
    d[6] = b[p + 6]!;
    d[7] = b[p + 7]!;
  } else {
    for (let i = 0; i < 8; i++) d[7 - i] = b[p + i]!;
  }
  pos = p + 8;
  return f64[0]!;
}

/** A field tag: a varint of at most 32 bits with a field number above 0 (as protobuf-es reads it). */
function readTag(): number {
  const start = pos;
  const tag = readVarint();
  if (pos - start > 5 || tag > 0xffffffff) throw new RangeError("illegal tag: varint overflows uint32");
  if (tag < 8) throw new RangeError(`illegal tag: field number 0 (wire type ${tag & 7})`);
  return tag;
}

/** A uint64/int64 field that must hold a non-negative safe integer (seq, ts_ms). */
function readSafeInt(field: string): number {
  const v = readVarint();
  if (v > Number.MAX_SAFE_INTEGER) throw new RangeError(`${field} is not a non-negative safe integer`);
  return v;
}

/**
 * Decode a journal Reading. Throws on malformed bytes (never returns a partial reading): truncation,
 * invalid UTF-8, a known field with the wrong wire type, field number 0, an unknown field inside a
 * map entry, seq or ts_ms beyond 2^53 - 1. Whatever it returns, protobuf-es decodes the same
 * (property-tested); on bytes protobuf-es accepts only by reinterpreting them it may be stricter.
 * `start`/`end`: the message's bytes within `b` (a packed batch), read in place. `rejectUnknown`:
 * a field this version does not know throws {@link UnknownFieldError} (device payloads) instead of
 * being skipped (journal messages of a newer writer).
 */
export function decodeReadingWire(b: Uint8Array, start = 0, end = b.length, rejectUnknown = false): Reading {
  buf = b;
  pos = start;
  lim = end;
  let deviceId = "";
  let seq = 0;
  let tsMs = 0;
  let log: string | undefined;
  let boot = -1;
  let trace: string | undefined;
  const metrics: Record<string, number> = {};
  while (pos < lim) {
    const tag = readTag();
    if (tag === 0x0a) {
      const e = readLength();
      deviceId = decodeStr(b, pos, e);
      pos = e;
    } else if (tag === 0x10) seq = readSafeInt("seq");
    else if (tag === 0x18) tsMs = readSafeInt("ts_ms");
    else if (tag === 0x22) {
      const e = readLength();
      const outer = lim;
      lim = e;
      let key = "";
      let value = 0;
      while (pos < e) {
        const t = readTag();
        if (t === 0x0a) {
          const ke = readLength();
          key = decodeKey(b, pos, ke);
          pos = ke;
        } else if (t === 0x11) value = readDouble();
        else throw new RangeError(`unexpected field ${Math.floor(t / 8)} (wire type ${t & 7}) in a metrics entry`);
      }
      lim = outer;
      if (key === "__proto__") throw new RangeError(`metric name "__proto__" is reserved`); // the assignment would drop it
      metrics[key] = value;
    } else if (tag === 0x2a) {
      const e = readLength();
      log = decodeStr(b, pos, e);
      pos = e;
    } else if (tag === 0x30) boot = readSafeInt("boot");
    else if (tag === 0x3a && !rejectUnknown) {
      // The bridge's trace context (journal records only: a device's payload may not set it).
      const e = readLength();
      trace = decodeStr(b, pos, e);
      pos = e;
    } else {
      const no = Math.floor(tag / 8);
      if (no <= 6 || (no === 7 && !rejectUnknown)) throw new RangeError(`field ${no} has wire type ${tag & 7}`);
      skipField(tag & 7); // malformed bytes are reported as such before an unknown field
      if (rejectUnknown) throw new UnknownFieldError(no);
    }
  }
  buf = EMPTY;
  // An empty trace context is none (a present but empty proto3 optional string).
  if (trace !== undefined && trace !== "") return { deviceId, seq, tsMs, metrics, ...(log !== undefined ? { log } : {}), ...(boot >= 0 ? { boot } : {}), trace };
  if (boot >= 0) return log === undefined ? { deviceId, seq, tsMs, metrics, boot } : { deviceId, seq, tsMs, metrics, log, boot };
  return log === undefined ? { deviceId, seq, tsMs, metrics } : { deviceId, seq, tsMs, metrics, log };
}

const EMPTY = new Uint8Array(0);

/** A protobuf field unknown to shoal.v1.Reading (with `rejectUnknown`). Not retryable. */
export class UnknownFieldError extends ShoalError {
  override readonly name = "UnknownFieldError";
  constructor(readonly field: number) {
    super(
      field === 7
        ? "field 7 (trace_parent) of shoal.v1.Reading is set by the bridge, not by devices: send trace context as the MQTT 5 user property traceparent"
        : `unknown protobuf field number ${field} in shoal.v1.Reading`,
      { code: "invalid_input", retryable: false },
    );
  }
}

/** First byte of a shoal.v1.ReadingBatch: field 15, wire type 2 (a Reading never has field 15). */
export const READING_BATCH_TAG = 0x7a;

/** Whether the message `b[start, end)` is a shoal.v1.ReadingBatch (else a single shoal.v1.Reading). */
export function isReadingBatch(b: Uint8Array, start: number, end: number): boolean {
  return start < end && b[start] === READING_BATCH_TAG;
}

/**
 * Calls `each` with every reading of the message `b[start, end)`: a shoal.v1.ReadingBatch (first
 * byte 0x7a), or a single shoal.v1.Reading (journals written before the bridge batched). Throws on
 * malformed bytes before returning, but readings before the malformed one may have been passed
 * to `each` already: collect, and use them only when it returns.
 */
export function decodeReadingsWire(b: Uint8Array, start: number, end: number, each: (r: Reading) => void, rejectUnknown = false): void {
  if (!isReadingBatch(b, start, end)) {
    each(decodeReadingWire(b, start, end, rejectUnknown));
    return;
  }
  let p = start;
  while (p < end) {
    if (b[p] !== READING_BATCH_TAG) throw new RangeError(`unexpected field ${b[p]! >> 3} (wire type ${b[p]! & 7}) in a reading batch`);
    p++;
    // Length varint, read here (decodeReadingWire owns the module cursor).
    let len = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (p >= end || i >= 5) throw new RangeError("truncated or overlong length in a reading batch");
      const c = b[p++]!;
      len += (c & 0x7f) * mul;
      if (c < 0x80) break;
      mul *= 128;
    }
    if (p + len > end) throw new RangeError("truncated reading in a reading batch");
    each(decodeReadingWire(b, p, p + len, rejectUnknown));
    p += len;
  }
}
