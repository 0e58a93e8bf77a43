import fc from "fast-check";
import { MAX_TS_MS } from "../../../src/domain/reading-codec.js";
import { AGE_MS, NOW_MS, SKEW_MS } from "./contract.js";

/**
 * The building blocks of the ingest arbitraries: device ids, metric names, numbers and timestamps
 * at the contract's bounds, values that are wrong for some field (arbNasty), and changes to a
 * payload's text after it is written (duplicate keys, blanks, a BOM, truncation, bad UTF-8).
 */

const enc = new TextEncoder();
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Device ids: mostly valid, sometimes at and past the 128-character limit. */
export const arbDeviceId: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,16}$/) },
  { weight: 1, arbitrary: fc.constantFrom("d", "pump-17", "A_b-9", "x".repeat(128), "blocked-1", "off-2") },
);

/** Valid metric names (short). */
export const VALID_NAME = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/).filter((n) => n !== "__proto__");
/** Metric names, valid and not: reserved, prototype names, too long, Unicode, empty. */
export const ANY_NAME = fc.oneof(
  { weight: 4, arbitrary: VALID_NAME },
  { weight: 2, arbitrary: fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "a".repeat(64), "A".repeat(65), "2x", "na-me", "na.me", "ünï", "", " t", "t ", "\u0000") },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
);

/** Finite doubles (metric values). */
export const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
/** Timestamps inside the default profile's time window. */
export const tsInWindow = fc.integer({ min: NOW_MS - AGE_MS, max: NOW_MS + SKEW_MS });
/** Timestamps at and around every bound of the contract. */
export const tsEdge = fc.constantFrom(0, 1, 2, NOW_MS - AGE_MS - 1, NOW_MS - AGE_MS, NOW_MS + SKEW_MS, NOW_MS + SKEW_MS + 1, MAX_TS_MS, MAX_TS_MS + 1, MAX_SAFE, 32_503_680_000_000);
/** Non-negative safe integers (seq, boot), small and large. */
export const safeUint = fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: MAX_SAFE }), fc.constantFrom(0, 1, MAX_SAFE));

/** A JSON value written as it is into the payload text (numbers JSON.stringify never writes, invalid JSON, deep nesting): see {@link jsonText}. */
const RAW_OPEN = "\u0001RAW";
const RAW_CLOSE = "\u0001";
const raw = (text: string) => `${RAW_OPEN}${text}${RAW_CLOSE}`;
const RAW_RE = /"\\u0001RAW(.*?)\\u0001"/g;
const deep = (n: number, open: string, close: string) => open.repeat(n) + close.repeat(n);

/** Values that are wrong (or right in an odd notation) for some field. */
export const arbNasty: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom<unknown>(
      null, true, false, [], {}, "", "5", "21.5", " 7 ", "0x10", "NaN", "Infinity", "-Infinity", "1e400", "\ud800", "\udfff x", "pump-17",
      1.5, -1, 0, 0.1, 2 ** 53, MAX_SAFE, 2 ** 53 + 2, 2 ** 64, 1e308, -1e308, Number.MIN_VALUE, -Number.MIN_VALUE, MAX_TS_MS, MAX_TS_MS + 1,
      [1, 2], ["pump-17"], { t: 1 }, { __proto__: null, x: 1 },
    ),
  },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      raw("1e400"), raw("-1e400"), raw("-0"), raw("-0.0"), raw("4.2e1"), raw("42.0"), raw("1E3"), raw("0.1e1"), raw("9007199254740993"), raw("1764160000000.0"),
      raw("1764160000000.5"), raw("01"), raw("+1"), raw(".5"), raw("NaN"), raw("Infinity"), raw("-Infinity"), raw("0x10"), raw("1_000"), raw("undefined"), raw("'x'"),
      raw(`"\\ud800"`), raw(`"\\u0000"`), raw(`"\\uZZZZ"`), raw("1".repeat(400)), raw(`0.${"0".repeat(400)}1`),
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 6000 }).map((n) => raw(deep(n, "[", "]"))) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2500 }).map((n) => raw(deep(n, '{"a":', "}").replace(/}+$/, (s) => `1${s}`))) },
  { weight: 2, arbitrary: fc.oneof(fc.string({ unit: "binary", maxLength: 30 }), fc.string({ unit: "grapheme", maxLength: 30 }), fc.string({ maxLength: 3000 })) },
  { weight: 2, arbitrary: fc.oneof(fc.double(), fc.integer(), fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map((b) => raw(b.toString()))) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** A change to the payload's text or bytes after it is written. */
export type TextOp =
  | { op: "none" }
  | { op: "dupKey"; key: string; value: unknown; first: boolean }
  | { op: "blank"; prefix: string }
  | { op: "bom" }
  | { op: "trailing"; text: string }
  | { op: "truncate"; at: number }
  | { op: "badUtf8"; at: number; bytes: readonly number[] }
  | { op: "char"; at: number; ch: string };

/** Changes to a written payload: mostly none; duplicate keys, blanks, a BOM, trailing text, truncation, bad UTF-8, a changed character. */
export const arbTextOp: fc.Arbitrary<TextOp> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<TextOp>({ op: "none" }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("dupKey" as const), key: fc.constantFrom("seq", "tsMs", "deviceId", "metrics", "readings", "log"), value: arbNasty, first: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("blank" as const), prefix: fc.constantFrom(" ", "\n", "\r\n\t ", "\u000b", "\u00a0", "\u0000") }) },
  { weight: 1, arbitrary: fc.constant<TextOp>({ op: "bom" }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("trailing" as const), text: fc.constantFrom(" ", "\n", "x", "}", ",", "{}", "\u0000") }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("badUtf8" as const), at: fc.nat(), bytes: fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("char" as const), at: fc.nat(), ch: fc.constantFrom('"', "{", "}", "[", ",", ":", "\\", "0", "-", "e", " ") }) },
);

/** The JSON text of `value` with raw values spliced in. */
export function jsonText(value: unknown): string {
  return (JSON.stringify(value) ?? "null").replace(RAW_RE, (_, t: string) => JSON.parse(`"${t}"`) as string);
}

/** The payload bytes of `text` with `op` applied. */
export function applyTextOp(text: string, op: TextOp): Uint8Array {
  switch (op.op) {
    case "none":
      return enc.encode(text);
    case "dupKey": {
      const member = `${JSON.stringify(op.key)}:${jsonText(op.value)}`;
      const i = op.first ? text.indexOf("{") : text.lastIndexOf("}");
      if (i < 0) return enc.encode(text);
      return enc.encode(op.first ? `${text.slice(0, i + 1)}${member},${text.slice(i + 1)}` : `${text.slice(0, i)},${member}${text.slice(i)}`);
    }
    case "blank":
      return enc.encode(op.prefix + text);
    case "bom":
      return enc.encode(`\ufeff${text}`);
    case "trailing":
      return enc.encode(text + op.text);
    case "truncate": {
      const b = enc.encode(text);
      return b.subarray(0, b.length === 0 ? 0 : op.at % b.length);
    }
    case "badUtf8": {
      const b = enc.encode(text);
      const at = b.length === 0 ? 0 : op.at % b.length;
      return Uint8Array.from([...b.subarray(0, at), ...op.bytes, ...b.subarray(at)]);
    }
    case "char": {
      const at = text.length === 0 ? 0 : op.at % text.length;
      return enc.encode(text.slice(0, at) + op.ch + text.slice(at + 1));
    }
  }
}
