import type { Reading } from "../ports/reading.js";
import { varintSize } from "../base/varint.js";
import { READING_BATCH_TAG } from "./reading-wire.js";

/**
 * The encoding half of the hand-written shoal.v1.Reading wire codec (`reading-wire.ts` decodes):
 * exactly the proto3 wire format, property-tested against protobuf-es in reading-wire.test.ts.
 *
 * Each reading is written straight into its destination, one pass to size it and one to write it,
 * with no buffer of its own: a `new Uint8Array` costs ~0.3–0.45 µs on this machine whatever its
 * size (a backing store outside the heap), 20–30× a plain object, and encoding a reading into its
 * own array (plus one per string and a DataView) was ~15 % of `shoal up`'s main thread at 50
 * readings per MQTT message. Metric names are walked with `for…in`, whose keyed loads V8 serves
 * from its enum cache (`Object.keys` then `m[k]` cost ~40 ns per metric). {@link ReadingBatchWriter}
 * puts a journal message's readings into one buffer (one allocation per batch, growing by doubling).
 */

const utf8Enc = new TextEncoder();
// Wire doubles are little-endian: copied byte by byte from a scratch Float64Array (reversed on a
// big-endian host).
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

/** UTF-8 bytes of `s` (its length when it is ASCII, as device ids and metric names are). */
function utf8Length(s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, "utf8");
  return n;
}

/** Writes `s`, of `len` UTF-8 bytes, at out[p]; returns the end. */
function writeStr(out: Uint8Array, p: number, s: string, len: number): number {
  const n = s.length;
  if (len === n) {
    for (let i = 0; i < n; i++) out[p + i] = s.charCodeAt(i);
  } else {
    utf8Enc.encodeInto(s, out.subarray(p, p + len));
  }
  return p + len;
}

/**
 * Writes `v` (an integer in [0, 2^53)) as a varint. Integer arithmetic on its two 32-bit halves: `%`
 * on a double above 2^31 (a timestamp) is a call into V8's C runtime, and was most of an encode.
 */
function writeVarint(out: Uint8Array, p: number, v: number): number {
  if (v < 0x80000000) {
    while (v > 0x7f) {
      out[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[p++] = v;
    return p;
  }
  let lo = v >>> 0;
  let hi = (v - lo) / 0x100000000;
  while (hi > 0 || lo > 0x7f) {
    out[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  out[p++] = lo;
  return p;
}

function writeDouble(out: Uint8Array, p: number, v: number): void {
  f64[0] = v;
  const d = f64Bytes;
  if (LITTLE_ENDIAN) {
    out[p] = d[0]!;
    out[p + 1] = d[1]!;
    out[p + 2] = d[2]!;
    out[p + 3] = d[3]!;
    out[p + 4] = d[4]!;
    out[p + 5] = d[5]!;
    out[p + 6] = d[6]!;
    out[p + 7] = d[7]!;
  } else {
    for (let i = 0; i < 8; i++) out[p + i] = d[7 - i]!;
  }
}

/** A map entry's bytes (key field, value field) for a key of `keyLen` UTF-8 bytes. */
const entrySize = (keyLen: number) => 1 + varintSize(keyLen) + keyLen + 9;

/**
 * The UTF-8 length of each string of the reading {@link measure} sized last, in field order (device
 * id, metric names, log, trace), for {@link writeMeasured} right after it: no string is scanned
 * twice. Sizing and writing are paired inside one synchronous call of this module.
 */
const lens: number[] = [];

/** Bytes of `r` on the wire; fills `lens` for {@link writeMeasured}. */
function measure(r: Reading): number {
  let i = 0;
  const idLen = (lens[i++] = utf8Length(r.deviceId));
  let size = 1 + varintSize(idLen) + idLen;
  if (r.seq !== 0) size += 1 + varintSize(r.seq);
  if (r.tsMs !== 0) size += 1 + varintSize(r.tsMs);
  for (const k in r.metrics) {
    const entry = entrySize((lens[i++] = utf8Length(k)));
    size += 1 + varintSize(entry) + entry;
  }
  if (r.log !== undefined) {
    const n = (lens[i++] = utf8Length(r.log));
    size += 1 + varintSize(n) + n;
  }
  if (r.boot !== undefined) size += 1 + varintSize(r.boot);
  if (r.trace !== undefined) {
    const n = (lens[i++] = utf8Length(r.trace));
    size += 1 + varintSize(n) + n;
  }
  return size;
}

/**
 * Writes a validated reading (seq and tsMs non-negative safe integers) that {@link measure} has just
 * sized at out[p], which has that many bytes of room; returns the end.
 */
function writeMeasured(r: Reading, out: Uint8Array, p: number): number {
  let i = 0;
  const idLen = lens[i++]!;
  out[p++] = 0x0a;
  p = writeVarint(out, p, idLen);
  p = writeStr(out, p, r.deviceId, idLen);
  if (r.seq !== 0) {
    out[p++] = 0x10;
    p = writeVarint(out, p, r.seq);
  }
  if (r.tsMs !== 0) {
    out[p++] = 0x18;
    p = writeVarint(out, p, r.tsMs);
  }
  const m = r.metrics;
  for (const k in m) {
    const keyLen = lens[i++]!;
    out[p++] = 0x22;
    p = writeVarint(out, p, entrySize(keyLen));
    out[p++] = 0x0a;
    p = writeVarint(out, p, keyLen);
    p = writeStr(out, p, k, keyLen);
    out[p++] = 0x11;
    writeDouble(out, p, m[k]!);
    p += 8;
  }
  if (r.log !== undefined) {
    const n = lens[i++]!;
    out[p++] = 0x2a;
    p = writeVarint(out, p, n);
    p = writeStr(out, p, r.log, n);
  }
  if (r.boot !== undefined) {
    out[p++] = 0x30;
    p = writeVarint(out, p, r.boot);
  }
  if (r.trace !== undefined) {
    const n = lens[i++]!;
    out[p++] = 0x3a;
    p = writeVarint(out, p, n);
    p = writeStr(out, p, r.trace, n);
  }
  return p;
}

/** Encode a validated reading as one shoal.v1.Reading message. */
export function encodeReadingWire(r: Reading): Uint8Array {
  const out = new Uint8Array(measure(r));
  writeMeasured(r, out, 0);
  return out;
}

/** The shoal.v1.ReadingBatch of several encoded readings (`encodeReadingWire` output, in order). */
export function encodeReadingBatchWire(readings: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const r of readings) size += 1 + varintSize(r.length) + r.length;
  const out = new Uint8Array(size);
  let p = 0;
  for (const r of readings) {
    out[p++] = READING_BATCH_TAG;
    p = writeVarint(out, p, r.length);
    out.set(r, p);
    p += r.length;
  }
  return out;
}

/**
 * A shoal.v1.ReadingBatch built reading by reading in one buffer (the bridge's journal message of a
 * partition). `bytes` is the batch so far; the writer must not be added to after it is taken.
 */
export class ReadingBatchWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialBytes = 1024) {
    this.buf = new Uint8Array(initialBytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /**
   * Appends `r` unless that would take the batch past `maxBytes` (a batch always takes its first
   * reading, however large); false: not added.
   */
  add(r: Reading, maxBytes = Infinity): boolean {
    const readingSize = measure(r);
    const need = this.pos + 1 + varintSize(readingSize) + readingSize;
    if (need > maxBytes && this.pos > 0) return false;
    if (need > this.buf.length) {
      const next = new Uint8Array(Math.max(need, this.buf.length * 2));
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
    }
    const out = this.buf;
    let p = this.pos;
    out[p++] = READING_BATCH_TAG;
    p = writeVarint(out, p, readingSize);
    this.pos = writeMeasured(r, out, p);
    return true;
  }

  /** The batch: a view of the writer's buffer. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
