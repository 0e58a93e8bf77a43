import { SEVERITIES } from "../../src/domain/alerts.js";
import { DeviceAlerts, Slot } from "./state.js";

/**
 * Snapshot codec of a device's alert state (carried inside the device snapshot).
 *
 * Version 1: uint8 1; string device id; varint slot count; per slot: string rule id, string
 * signature (kind:metric), varint alert counter, uint8 flags (1 open, 2 acknowledged, 4 flapping,
 * 8 re-arm pending), time since, time lastSeen, varint count + times of the recent changes; when
 * open: varint version, time started, time last escalation, uint8 severity index, string metric.
 * Strings: varint UTF-8 length + bytes. Varints: unsigned LEB128. Times: one byte 0 (none), one
 * byte 1 + float64 LE (not an integer in [0, 2^52]), else the varint of time + 2.
 * Slots are written in the state's order (the aligned ones, then the retired ones), so a decoded
 * state encodes to the same bytes.
 */
export const ALERTS_CODEC_VERSION = 1;

const F_OPEN = 1;
const F_ACKED = 2;
const F_FLAPPING = 4;
const F_REARM = 8;
const MAX_INT_TIME = 2 ** 52;

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** Serialises a device's alert state (compact: a device with one alert takes some 40 bytes). */
export function encodeAlerts(st: DeviceAlerts): Uint8Array {
  const w = new Writer();
  w.u8(ALERTS_CODEC_VERSION);
  w.str(st.deviceId);
  const slots: Slot[] = [];
  for (const s of st.slots) if (s !== undefined) slots.push(s);
  if (st.retired !== null) slots.push(...st.retired);
  w.varint(slots.length);
  for (const s of slots) {
    w.str(s.rule);
    w.str(s.sig);
    w.varint(s.n);
    const open = s.version > 0;
    w.u8((open ? F_OPEN : 0) | (open && s.acked ? F_ACKED : 0) | (open && s.flapping ? F_FLAPPING : 0) | (s.rearm ? F_REARM : 0));
    w.time(s.since);
    w.time(s.lastSeen);
    const changes = s.changes ?? [];
    w.varint(changes.length);
    for (const c of changes) w.time(c);
    if (open) {
      w.varint(s.version);
      w.time(s.startedAtMs);
      w.time(s.escAtMs);
      w.u8(s.severity);
      w.str(s.metric);
    }
  }
  return w.done();
}

/** Rebuilds a state written by `encodeAlerts`; throws a RangeError on corrupt input. */
export function decodeAlerts(bytes: Uint8Array): DeviceAlerts {
  const r = new Reader(bytes);
  const version = r.u8();
  if (version !== ALERTS_CODEC_VERSION) throw new RangeError(`alert state: unknown version ${version} (expected ${ALERTS_CODEC_VERSION})`);
  const deviceId = r.str();
  const count = r.count();
  const slots: Slot[] = [];
  const rules = new Set<string>();
  for (let k = 0; k < count; k++) {
    const rule = r.str();
    if (rule === "" || rules.has(rule)) throw new RangeError(`alert state: slot ${k}: rule id ${JSON.stringify(rule)} is empty or repeated`);
    rules.add(rule);
    const s = new Slot(rule, r.str());
    s.n = r.varint();
    const flags = r.u8();
    if ((flags & ~(F_OPEN | F_ACKED | F_FLAPPING | F_REARM)) !== 0 || ((flags & F_OPEN) === 0 && (flags & (F_ACKED | F_FLAPPING)) !== 0)) {
      throw new RangeError(`alert state: slot ${rule}: invalid flags ${flags}`);
    }
    s.acked = (flags & F_ACKED) !== 0;
    s.flapping = (flags & F_FLAPPING) !== 0;
    s.rearm = (flags & F_REARM) !== 0;
    s.since = r.time();
    s.lastSeen = r.time();
    const changes = r.count();
    if (changes > 0) {
      s.changes = [];
      for (let c = 0; c < changes; c++) s.changes.push(r.time());
    }
    if ((flags & F_OPEN) !== 0) {
      s.version = r.varint();
      s.startedAtMs = r.time();
      s.escAtMs = r.time();
      s.severity = r.u8();
      s.metric = r.str();
      if (s.version < 1 || s.n < 1 || s.severity >= SEVERITIES.length) throw new RangeError(`alert state: slot ${rule}: open alert with version ${s.version}, counter ${s.n}, severity ${s.severity}`);
    }
    slots.push(s);
  }
  if (r.at !== bytes.length) throw new RangeError(`alert state: ${bytes.length - r.at} trailing bytes`);
  // Not aligned to any rule set: the engine re-indexes the slots on the state's next touch.
  return new DeviceAlerts(deviceId, slots, null);
}

class Writer {
  private buf = new Uint8Array(64);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }

  varint(v: number): void {
    this.room(8);
    while (v >= 0x80) {
      this.buf[this.at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.at++] = v;
  }

  time(v: number): void {
    if (v !== v) this.u8(0);
    else if (Number.isInteger(v) && v >= 0 && v <= MAX_INT_TIME) this.varint(v + 2);
    else {
      this.room(9);
      this.buf[this.at++] = 1;
      new DataView(this.buf.buffer, this.buf.byteOffset).setFloat64(this.at, v, true);
      this.at += 8;
    }
  }

  str(s: string): void {
    const b = enc.encode(s);
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.at);
  }
}

class Reader {
  at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  private need(n: number, what: string): void {
    if (this.at + n > this.bytes.length) throw new RangeError(`alert state: truncated (${what} at byte ${this.at})`);
  }

  u8(): number {
    this.need(1, "byte");
    return this.bytes[this.at++]!;
  }

  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) break;
      if (i === 7) throw new RangeError(`alert state: varint too long at byte ${this.at}`);
      scale *= 0x80;
    }
    if (v > Number.MAX_SAFE_INTEGER) throw new RangeError(`alert state: varint out of range at byte ${this.at}`);
    return v;
  }

  /** A count of items that each take at least one more byte. */
  count(): number {
    const n = this.varint();
    if (n > this.bytes.length - this.at) throw new RangeError(`alert state: count ${n} exceeds the bytes left`);
    return n;
  }

  time(): number {
    this.need(1, "time");
    const tag = this.bytes[this.at]!;
    if (tag === 0 || tag === 1) {
      this.at++;
      if (tag === 0) return NaN;
      this.need(8, "float64");
      const v = new DataView(this.bytes.buffer, this.bytes.byteOffset).getFloat64(this.at, true);
      this.at += 8;
      return v;
    }
    return this.varint() - 2;
  }

  str(): string {
    const n = this.varint();
    this.need(n, "string");
    let s: string;
    try {
      s = dec.decode(this.bytes.subarray(this.at, this.at + n));
    } catch {
      throw new RangeError(`alert state: invalid UTF-8 at byte ${this.at}`);
    }
    this.at += n;
    return s;
  }
}
