import { create, toBinary, type DescField, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { mutateOnce, type Rng } from "../ingest/mutator.js";
import { double, varint, writeFields, type WireField } from "../ingest/pb-writer.js";
import { TOKENS } from "./services.js";

/**
 * Malformed requests for any RPC, from its descriptor: random structured messages (every field
 * of the input type filled with odd values: ids that nearly match, huge and negative numbers, NaN,
 * out-of-range enums, long and odd Unicode strings, deep nesting), and below them random bytes,
 * truncated and bit-flipped encodings, wrong wire types, unknown fields, deeply nested groups,
 * oversized messages; with good, missing and garbage bearer tokens and odd metadata. Seeded.
 */

/** One request to send. */
export interface CallCase {
  /** What made the body (for the tables). */
  readonly kind: string;
  readonly body: Buffer;
  /** Metadata / headers: [key, value]; `-bin` keys carry Buffers. */
  readonly metadata: ReadonlyArray<readonly [string, string | Buffer]>;
  /** What the authorization is (for the tables). */
  readonly auth: string;
}

const STRINGS = [
  "", " ", "d-1", "a-1", "b-1", "d-2", "pump-17", "x".repeat(128), "x".repeat(129), "d-1/anomaly/1", "d-2/anomaly/2", "d-1/anomaly", "bad id!/anomaly/1", "anomaly", "offline",
  "reboot", "set_rate", "log.level", "detector.threshold", "console.tokens", "debug", "0.9", "{}", "[]", "null", "a: [", "!!binary AAAA", "enc:AAAA", "${env:HOME}", "../../etc/passwd",
  "'; DROP TABLE readings; --", "id,type,labels\nd-9,pump,a=b\n", "id\n" + "d,\n".repeat(50), "2026-12-04T12:00:00Z", "-1", "1e400", "NaN", "\u0000", "\ud800", "ünïcödé", "😀".repeat(30),
  "a".repeat(2049), "b".repeat(70_000), "\r\n\t", "<script>alert(1)</script>", "%s%s%n", "Bearer x", "true", "firing", "acknowledged", "warning", "critical", "info",
];
const BIGS = [0n, 1n, -1n, 2n ** 31n - 1n, -(2n ** 31n), 2n ** 32n, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n), 1_764_160_000_000n, 4_294_967_295_999n, 100n, 1000n, 1001n];
const NUMS = [0, 1, -1, 0.5, 1e308, -1e308, NaN, Infinity, -Infinity, 2 ** 31 - 1, -(2 ** 31), 0.9, 100, 1000, 1001];

/** The token a call carries, and its label. */
function authOf(rng: Rng): { auth: string; values: string[] } {
  const r = rng.below(100);
  if (r < 25) return { auth: "admin", values: [`Bearer ${TOKENS.admin}`] };
  if (r < 45) return { auth: "operator", values: [`Bearer ${TOKENS.operator}`] };
  if (r < 60) return { auth: "viewer", values: [`Bearer ${TOKENS.viewer}`] };
  if (r < 70) return { auth: "none", values: [] };
  if (r < 72) return { auth: "two tokens", values: [`Bearer ${TOKENS.viewer}`, `Bearer ${TOKENS.admin}`] };
  if (r < 74) return { auth: "huge token", values: [`Bearer ${"t".repeat(rng.below(2) === 0 ? 4000 : 12_000)}`] };
  const garbage = ["Bearer", "Bearer ", "bearer " + TOKENS.admin.toUpperCase(), "Basic YWRtaW46YWRtaW4=", TOKENS.admin, `Bearer ${TOKENS.admin} extra`, `Bearer ${TOKENS.admin.slice(0, -1)}`, "Bearer \t", "Token abc", `Bearer ${randomAscii(rng, 40)}`];
  return { auth: "garbage token", values: [rng.pick(garbage)] };
}

function randomAscii(rng: Rng, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(0x21 + rng.below(94));
  return s;
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.below(256);
  return b;
}

/** A random value of a scalar type (protobuf-es ScalarType numbers). */
function scalar(rng: Rng, t: number): unknown {
  switch (t) {
    case 9: // string
      return rng.below(5) === 0 ? randomAscii(rng, rng.below(40)) : rng.pick(STRINGS);
    case 12: // bytes
      return new Uint8Array(randomBytes(rng, rng.below(64)));
    case 8: // bool
      return rng.below(2) === 0;
    case 1: // double
    case 2: // float
      return rng.pick(NUMS);
    case 3: // int64
    case 16: // sint64
    case 18: // sfixed64
      return rng.pick(BIGS);
    case 4: // uint64
    case 6: // fixed64
      return ((rng.pick(BIGS) % 2n ** 64n) + 2n ** 64n) % 2n ** 64n;
    case 13: // uint32
    case 7: // fixed32
      return rng.pick([0, 1, 100, 1000, 1001, 2 ** 32 - 1, 2 ** 31]);
    default: // int32, sint32, sfixed32
      return rng.pick([0, 1, -1, 100, 1000, 1001, 2 ** 31 - 1, -(2 ** 31)]);
  }
}

function fieldValue(rng: Rng, f: DescField, depth: number): unknown {
  switch (f.fieldKind) {
    case "scalar":
      return scalar(rng, f.scalar);
    case "enum":
      return rng.below(4) === 0 ? rng.pick([-1, 99, 2 ** 31 - 1]) : rng.pick(f.enum.values).number;
    case "message":
      return depth > 3 ? {} : randomInit(rng, f.message, depth + 1);
    case "list": {
      const n = rng.below(50) === 0 ? 100 + rng.below(900) : rng.below(4);
      const one = () => (f.listKind === "scalar" ? scalar(rng, f.scalar) : f.listKind === "enum" ? rng.pick(f.enum.values).number : depth > 3 ? {} : randomInit(rng, f.message, depth + 1));
      return Array.from({ length: n }, one);
    }
    case "map": {
      const out: Record<string, unknown> = {};
      const n = rng.below(4);
      for (let i = 0; i < n; i++) {
        const k = f.mapKey === 9 ? rng.pick(STRINGS).slice(0, 100) : String(rng.below(10));
        out[k] = f.mapKind === "scalar" ? scalar(rng, f.scalar) : f.mapKind === "enum" ? rng.pick(f.enum.values).number : depth > 3 ? {} : randomInit(rng, f.message, depth + 1);
      }
      return out;
    }
  }
}

/** A message init of `desc` with random fields set (each with probability 3/4, one member per oneof). */
export function randomInit(rng: Rng, desc: DescMessage, depth = 0): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const f of desc.fields) {
    if (rng.below(4) === 0) continue;
    if (f.oneof !== undefined) {
      if (init[f.oneof.localName] === undefined && rng.below(2) === 0) init[f.oneof.localName] = { case: f.localName, value: fieldValue(rng, f, depth) };
      continue;
    }
    init[f.localName] = fieldValue(rng, f, depth);
  }
  return init;
}

/** The binary encoding of a random message of `desc` (empty when protobuf-es refuses the values). */
export function randomMessage(rng: Rng, desc: DescMessage): Buffer {
  try {
    return Buffer.from(toBinary(desc, create(desc, randomInit(rng, desc) as never)));
  } catch {
    return Buffer.alloc(0);
  }
}

/** Fields numbered as `desc`'s but with random wire types (and some unknown numbers). */
function wrongWireTypes(rng: Rng, desc: DescMessage): Buffer {
  const fields: WireField[] = [];
  const n = 1 + rng.below(5);
  for (let i = 0; i < n; i++) {
    const no = desc.fields.length > 0 && rng.below(5) !== 0 ? rng.pick(desc.fields).number : rng.pick([0, 99, 1000, 536_870_911]);
    const kind = rng.below(5);
    if (no === 0) fields.push({ kind: "raw", bytes: Uint8Array.of(0x00, rng.below(256)) });
    else if (kind === 0) fields.push({ no, kind: "varint", value: rng.pick(BIGS) });
    else if (kind === 1) fields.push({ no, kind: "fixed64", bytes: double(rng.pick(NUMS)) });
    else if (kind === 2) fields.push({ no, kind: "fixed32", bytes: new Uint8Array(randomBytes(rng, 4)) });
    else if (kind === 3) fields.push({ no, kind: "bytes", bytes: new Uint8Array(randomBytes(rng, rng.below(20))), lengthDelta: rng.below(6) === 0 ? rng.pick([-1, 1, 1000, 2 ** 31]) : 0 });
    else fields.push({ no, kind: "group", fields: [{ no: 1, kind: "varint", value: 1n }] });
  }
  return Buffer.from(writeFields(fields));
}

/*
 * The deep bodies below are built in time linear in their size. The fuzzer runs in the process of
 * the servers it calls, so whatever it computes synchronously stalls their HTTP/2 I/O too: built
 * level by level (each level copying the one inside it, byte by byte) a 5,000-deep message took
 * ~0.4 s, 27 s of CPU per 20,000 calls, and the 64 KiB flow-control windows of the query and admin
 * servers then moved the 200 KB–1 MB bodies in flight one window per stalled loop turn: calls with
 * such bodies took 5–10 s, some past the 20 s deadline, counted as server hangs.
 */

/** Start-group tags nested `depth` deep (a parser that recurses into groups may run out of stack). */
export function deepGroups(depth: number, no: number): Buffer {
  const open = Buffer.from(varint(BigInt((no << 3) | 3)));
  const close = Buffer.from(varint(BigInt((no << 3) | 4)));
  // Buffer.alloc repeats a Buffer fill: `depth` opens, then `depth` closes.
  return Buffer.concat([Buffer.alloc(depth * open.length, open), Buffer.alloc(depth * close.length, close)]);
}

/**
 * Nested length-delimited fields `depth` deep on the method's first message field (or field 1):
 * the bytes of `depth` nested `writeFields([{ no, kind: "bytes", bytes: inner }])`, each level's
 * header (tag, length) computed from the inside out and written once.
 */
export function deepMessages(desc: DescMessage, depth: number): Buffer {
  const f = desc.fields.find((x) => x.fieldKind === "message") ?? desc.fields[0];
  const no = f?.number ?? 1;
  const tag = varint(BigInt((no << 3) | 2));
  // headers[k]: the tag and length of level k+1 (counted from the inside), around `size` bytes.
  const headers: number[][] = [];
  let size = 0;
  for (let i = 0; i < depth; i++) {
    const h = [...tag, ...varint(BigInt(size))];
    headers.push(h);
    size += h.length;
  }
  const out = Buffer.alloc(size);
  let at = 0;
  for (let i = depth - 1; i >= 0; i--) for (const b of headers[i]!) out[at++] = b;
  return out;
}

/** Weighted kinds of request body. */
const KINDS: ReadonlyArray<readonly [string, number]> = [
  ["random message", 32],
  ["random bytes", 14],
  ["truncated", 10],
  ["bit-flipped", 14],
  ["wrong wire types", 12],
  ["unknown fields", 6],
  ["empty", 4],
  ["deep nesting", 2],
  ["oversized", 0.05],
];
const TOTAL = KINDS.reduce((n, [, w]) => n + w, 0);

/** One malformed request for `method`; `maxBytes` is the server's largest accepted message (oversized goes past it). */
export function callCase(rng: Rng, method: DescMethod, maxBytes: number): CallCase {
  let r = (rng.next() / 2 ** 32) * TOTAL;
  let kind = KINDS[0]![0];
  for (const [k, w] of KINDS) {
    if (r < w) {
      kind = k;
      break;
    }
    r -= w;
  }
  const desc = method.input;
  let body: Buffer;
  switch (kind) {
    case "random message":
      body = randomMessage(rng, desc);
      break;
    case "random bytes":
      body = randomBytes(rng, rng.below(rng.below(8) === 0 ? 4096 : 64));
      break;
    case "truncated": {
      const b = randomMessage(rng, desc);
      body = b.subarray(0, b.length === 0 ? 0 : rng.below(b.length));
      break;
    }
    case "bit-flipped": {
      let b: Uint8Array = randomMessage(rng, desc);
      for (let i = 1 + rng.below(4); i > 0; i--) b = mutateOnce(rng, b, randomMessage(rng, desc));
      body = Buffer.from(b);
      break;
    }
    case "wrong wire types":
      body = wrongWireTypes(rng, desc);
      break;
    case "unknown fields":
      body = Buffer.concat([randomMessage(rng, desc), Buffer.from(writeFields([{ no: 9999, kind: "bytes", bytes: new Uint8Array(randomBytes(rng, 8)) }, { no: 12345, kind: "varint", value: 7n }]))]);
      break;
    case "empty":
      body = Buffer.alloc(0);
      break;
    case "deep nesting":
      body = rng.below(2) === 0 ? deepGroups(rng.pick([100, 10_000, 100_000]), rng.pick([1, 2, 99])) : deepMessages(desc, rng.pick([100, 1000, 5000]));
      break;
    default:
      body = Buffer.alloc(maxBytes + 1 + rng.below(1024), 0x41);
  }
  const { auth, values } = authOf(rng);
  const metadata: Array<readonly [string, string | Buffer]> = values.map((v) => ["authorization", v] as const);
  const extra = rng.below(20);
  if (extra === 0) metadata.push(["x-fuzz", randomAscii(rng, 1 + rng.below(200))]);
  else if (extra === 1) metadata.push(["x-fuzz-bin", randomBytes(rng, rng.below(300))]);
  else if (extra === 2) metadata.push(["shoal-caller", rng.pick(STRINGS).replace(/[^\x20-\x7e]/g, "?").slice(0, 300)]);
  else if (extra === 3) metadata.push(["grpc-timeout", rng.pick(["1n", "0S", "99999999H", "xyz"])]);
  return { kind, body, metadata, auth };
}
