import type { MetricWindow, ModelInfo, ScoreRequest, ScoreResult } from "../ports/gateway.js";
import { endianness } from "node:os";
import { InvalidRequestError } from "./errors.js";
import { Reader } from "./wire-reader.js";
import { varintSize } from "../base/varint.js";
import { Writer, utf8Length } from "./wire-writer.js";

if (endianness() !== "LE") throw new Error("score-codec assumes a little-endian host");

/**
 * Hand-written protobuf codec for the hot messages of Score/ScoreBatch (shoal.v1.ScoreRequest,
 * ScoreBatchRequest, ScoreResponse, ScoreBatchResponse), straight between wire bytes and the
 * port's plain types. Wire-compatible with proto/shoal/v1/gateway.proto (property-tested against
 * protobuf-es in score-codec.test.ts); it exists because protobuf-es' reflective toBinary costs
 * ~75 µs per 32-value window here, 20x the cost of scoring it. Everything else uses protobuf-es.
 */

/** Encoded size of a MetricWindow without ts_ms (null when ts_ms is present: size unknown cheaply). */
function windowSize(win: MetricWindow): number | null {
  if (win.tsMs && win.tsMs.length > 0) return null;
  let size = 0;
  const d = utf8Length(win.deviceId);
  if (d > 0) size += 1 + varintSize(d) + d;
  const m = utf8Length(win.metric);
  if (m > 0) size += 1 + varintSize(m) + m;
  const v = win.values.length * 8;
  if (v > 0) size += 1 + varintSize(v) + v;
  return size;
}

function writeWindow(w: Writer, win: MetricWindow): void {
  w.string(0x0a, win.deviceId);
  w.string(0x12, win.metric);
  const n = win.values.length;
  if (n > 0) {
    w.varint(0x1a);
    w.varint(n * 8);
    w.ensure(n * 8);
    // Little-endian hosts only (x64/arm64): fill a reused float64 scratch, then one memcpy.
    const f = w.scratch(n);
    for (let i = 0; i < n; i++) f[i] = win.values[i]!;
    w.buf.set(new Uint8Array(f.buffer, 0, n * 8), w.pos);
    w.pos += n * 8;
  }
  if (win.tsMs && win.tsMs.length > 0) {
    w.varint(0x22);
    const s = w.begin();
    for (const t of win.tsMs) writeInt64(w, t);
    w.end(s);
  }
}

function writeInt64(w: Writer, t: number): void {
  if (t >= 0) return w.varint(Math.trunc(t));
  // Negative int64: two's complement as a 10-byte varint.
  let v = BigInt.asUintN(64, BigInt(Math.trunc(t)));
  w.ensure(10);
  while (v > 0x7fn) {
    w.buf[w.pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  w.buf[w.pos++] = Number(v);
}

const infoCache = new WeakMap<ModelInfo, Buffer>();

function modelInfoBytes(m: ModelInfo): Buffer {
  const hit = infoCache.get(m);
  if (hit) return hit;
  const w = new Writer(64);
  w.string(0x0a, m.provider);
  w.string(0x12, m.model);
  w.string(0x1a, m.promptVersion);
  if (m.cached) w.tagged(0x20, 1);
  if (m.inputTokens) w.tagged(0x28, m.inputTokens >>> 0);
  if (m.outputTokens) w.tagged(0x30, m.outputTokens >>> 0);
  if (m.costUsd) w.double(0x39, m.costUsd);
  if (m.degraded) w.tagged(0x40, 1);
  w.string(0x4a, m.degradedReason ?? "");
  if (m.attempts) w.tagged(0x50, m.attempts >>> 0);
  w.string(0x5a, m.signature);
  const b = Buffer.from(w.bytes());
  // Frozen infos are shared by many answers (local scores): encode them once.
  if (Object.isFrozen(m)) infoCache.set(m, b);
  return b;
}

function writeScoreResponse(w: Writer, r: ScoreResult | Error): void {
  if (r instanceof Error) return w.string(0x1a, r.message || "error");
  if (r.score !== 0) w.double(0x09, r.score);
  const info = modelInfoBytes(r.model);
  w.varint(0x12);
  w.varint(info.length);
  w.ensure(info.length);
  info.copy(w.buf, w.pos);
  w.pos += info.length;
}

/** shoal.v1.ScoreRequest bytes. */
export function encodeScoreRequest(r: ScoreRequest): Buffer {
  const w = new Writer(64 + r.window.values.length * 8);
  w.varint(0x0a);
  const s = w.begin();
  writeWindow(w, r.window);
  w.end(s);
  return w.bytes();
}

/** shoal.v1.ScoreBatchRequest bytes. */
export function encodeScoreBatchRequest(reqs: readonly ScoreRequest[]): Buffer {
  const w = new Writer(64 + reqs.length * 330);
  for (const r of reqs) {
    const size = windowSize(r.window);
    if (size !== null) {
      // Known size: write the prefixes directly, no back-patching.
      w.varint(0x0a);
      w.varint(1 + varintSize(size) + size);
      w.varint(0x0a);
      w.varint(size);
      writeWindow(w, r.window);
      continue;
    }
    w.varint(0x0a);
    const s = w.begin();
    w.varint(0x0a);
    const s2 = w.begin();
    writeWindow(w, r.window);
    w.end(s2);
    w.end(s);
  }
  return w.bytes();
}

/** shoal.v1.ScoreResponse bytes. */
export function encodeScoreResponse(r: ScoreResult): Buffer {
  const w = new Writer(128);
  writeScoreResponse(w, r);
  return w.bytes();
}

/** shoal.v1.ScoreBatchResponse bytes; an Error item becomes a response with only `error` set. */
export function encodeScoreBatchResponse(rs: ReadonlyArray<ScoreResult | Error>): Buffer {
  const w = new Writer(64 + rs.length * 64);
  for (const r of rs) {
    w.varint(0x0a);
    const s = w.begin();
    writeScoreResponse(w, r);
    w.end(s);
  }
  return w.bytes();
}

interface MutableWindow {
  deviceId: string;
  metric: string;
  values: number[];
  tsMs?: number[];
}

function readWindow(r: Reader, end: number, w: MutableWindow): void {
  while (r.pos < end) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (field === 1 && wt === 2) w.deviceId = r.string();
    else if (field === 2 && wt === 2) w.metric = r.string();
    else if (field === 3 && wt === 2) {
      const n = r.len();
      if (n % 8 !== 0) throw new InvalidRequestError("packed doubles length is not a multiple of 8");
      // Copy into an aligned buffer, then read as float64s (little-endian hosts).
      const count = n / 8;
      const arr = w.values.length === 0 ? new Array<number>(count) : w.values;
      const base = arr === w.values ? arr.length : 0;
      for (let i = 0; i < count; i++) {
        arr[base + i] = r.buf.readDoubleLE(r.pos);
        r.pos += 8;
      }
      w.values = arr;
    } else if (field === 3 && wt === 1) w.values.push(r.double());
    else if (field === 4 && wt === 2) {
      const n = r.len();
      const stop = r.pos + n;
      const ts = (w.tsMs ??= []);
      while (r.pos < stop) ts.push(r.int64());
    } else if (field === 4 && wt === 0) (w.tsMs ??= []).push(r.int64());
    else r.skip(wt);
  }
}

function readScoreRequest(r: Reader, end: number): ScoreRequest {
  let win: MutableWindow | undefined;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 0x0a) {
      const n = r.len();
      win ??= { deviceId: "", metric: "", values: [] };
      readWindow(r, r.pos + n, win); // a repeated occurrence merges, as protobuf requires
    } else r.skip(tag & 7);
  }
  return { window: win as MetricWindow };
}

/** Decode shoal.v1.ScoreRequest; a missing window is left undefined for validation to name. */
export function decodeScoreRequest(buf: Buffer): ScoreRequest {
  return readScoreRequest(new Reader(buf), buf.length);
}

/** Decode shoal.v1.ScoreBatchRequest. */
export function decodeScoreBatchRequest(buf: Buffer): ScoreRequest[] {
  const r = new Reader(buf);
  const out: ScoreRequest[] = [];
  while (r.pos < buf.length) {
    const tag = r.varint();
    if (tag === 0x0a) {
      const n = r.len();
      const end = r.pos + n;
      out.push(readScoreRequest(r, end));
      r.pos = end;
    } else r.skip(tag & 7);
  }
  return out;
}

function readModelInfo(r: Reader, end: number): ModelInfo {
  const m = { provider: "", model: "", promptVersion: "", cached: false, inputTokens: 0, outputTokens: 0, costUsd: 0, degraded: false, degradedReason: undefined as ModelInfo["degradedReason"], attempts: 0, signature: "" };
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag) {
      case 0x0a: m.provider = r.string(); break;
      case 0x12: m.model = r.string(); break;
      case 0x1a: m.promptVersion = r.string(); break;
      case 0x20: m.cached = r.varint() !== 0; break;
      case 0x28: m.inputTokens = r.varint() >>> 0; break;
      case 0x30: m.outputTokens = r.varint() >>> 0; break;
      case 0x39: m.costUsd = r.double(); break;
      case 0x40: m.degraded = r.varint() !== 0; break;
      case 0x4a: m.degradedReason = (r.string() || undefined) as ModelInfo["degradedReason"]; break;
      case 0x50: m.attempts = r.varint() >>> 0; break;
      case 0x5a: m.signature = r.string(); break;
      default: r.skip(tag & 7);
    }
  }
  return m;
}

function readScoreResponse(r: Reader, end: number): ScoreResult | Error {
  let score = 0;
  let model: ModelInfo | undefined;
  let error = "";
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 0x09) score = r.double();
    else if (tag === 0x12) {
      const n = r.len();
      model = readModelInfo(r, r.pos + n);
    } else if (tag === 0x1a) error = r.string();
    else r.skip(tag & 7);
  }
  if (error) return new InvalidRequestError(error);
  return { score, model: model ?? readModelInfo(r, r.pos) };
}

/** Decode shoal.v1.ScoreResponse. */
export function decodeScoreResponse(buf: Buffer): ScoreResult {
  const res = readScoreResponse(new Reader(buf), buf.length);
  if (res instanceof Error) throw res;
  return res;
}

/** Decode shoal.v1.ScoreBatchResponse; items with `error` become InvalidRequestErrors. */
export function decodeScoreBatchResponse(buf: Buffer): Array<ScoreResult | Error> {
  const r = new Reader(buf);
  const out: Array<ScoreResult | Error> = [];
  while (r.pos < buf.length) {
    const tag = r.varint();
    if (tag === 0x0a) {
      const n = r.len();
      const end = r.pos + n;
      out.push(readScoreResponse(r, end));
      r.pos = end;
    } else r.skip(tag & 7);
  }
  return out;
}
