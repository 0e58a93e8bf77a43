import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { RowBinaryWriter } from "../../../src/domain/row-binary.js";
import { concatBytes, readRows, RowBinaryError } from "../../../src/domain/row-binary-read.js";
import type { RowSchema } from "../../../src/ports/row-sink.js";
import { type Row } from "../../../src/ports/row-sink.js";
import { concatRows, rowBatch, rowBatchOf, rowObjects } from "../../../src/domain/row-batch.js";

const SCHEMA: RowSchema = {
  columns: [
    { name: "s", type: "String" },
    { name: "u8", type: "UInt8" },
    { name: "u64", type: "UInt64" },
    { name: "i64", type: "Int64" },
    { name: "f", type: "Float64" },
    { name: "as", type: "Array(String)" },
    { name: "af", type: "Array(Float64)" },
  ],
};

/** Well-formed text (lone surrogates are not text: they are written as U+FFFD), short and past one length byte. */
const arbText = fc.oneof(fc.string({ unit: "grapheme", maxLength: 40 }), fc.string({ minLength: 120, maxLength: 300 }), fc.string({ unit: "grapheme-composite", maxLength: 60 }));
const arbRow = fc.record({
  s: arbText,
  u8: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.boolean()),
  u64: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  i64: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  f: fc.double(),
  as: fc.array(arbText, { maxLength: 5 }),
  af: fc.oneof(
    fc.array(fc.double(), { maxLength: 6 }),
    fc.array(fc.double(), { maxLength: 6 }).map((a) => Float64Array.from(a)),
  ),
});
type TestRow = typeof arbRow extends fc.Arbitrary<infer T> ? T : never;

/** The wire format written out plainly with Buffer and BigInt: an independent reference for the writer. */
function reference(rows: readonly TestRow[]): Uint8Array {
  const parts: Buffer[] = [];
  const varint = (n: number) => {
    const b: number[] = [];
    do {
      let byte = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) byte |= 0x80;
      b.push(byte);
    } while (n > 0);
    parts.push(Buffer.from(b));
  };
  const str = (s: string) => {
    const b = Buffer.from(s, "utf8");
    varint(b.length);
    parts.push(b);
  };
  const f64 = (x: number) => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(x);
    parts.push(b);
  };
  for (const r of rows) {
    str(r.s);
    parts.push(Buffer.from([r.u8 === true ? 1 : r.u8 === false ? 0 : r.u8]));
    const u = Buffer.alloc(8);
    u.writeBigUInt64LE(BigInt(r.u64));
    parts.push(u);
    const i = Buffer.alloc(8);
    i.writeBigInt64LE(BigInt(r.i64));
    parts.push(i);
    f64(r.f);
    varint(r.as.length);
    r.as.forEach(str);
    varint(r.af.length);
    Array.from(r.af).forEach(f64);
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** What reading the rows back gives: integers for booleans, plain arrays. */
const asRead = (r: TestRow): Row => ({ ...r, u8: r.u8 === true ? 1 : r.u8 === false ? 0 : r.u8, af: Array.from(r.af) });

describe("RowBinaryWriter", () => {
  it("writes exactly the bytes of ClickHouse's RowBinary (independent reference), and reads back what it wrote", () => {
    const w = new RowBinaryWriter(SCHEMA);
    fc.assert(
      fc.property(fc.array(arbRow, { minLength: 1, maxLength: 20 }), (rows) => {
        const { binary, rejected } = w.encode(rows as Row[]);
        expect(rejected).toEqual([]);
        expect(binary!.rows).toBe(rows.length);
        expect(concatBytes(binary!.chunks)).toEqual(reference(rows));
        expect(readRows(binary!)).toEqual(rows.map(asRead));
      }),
      { numRuns: 300 },
    );
  });

  it("grows past its buffer and writes multi-byte length prefixes (strings of 70,000 characters)", () => {
    const long = "é".repeat(20_000) + "x".repeat(50_000);
    const rows = [{ s: long, u8: 1, u64: 1, i64: -1, f: 0.5, as: [long, "a"], af: [] }];
    const { binary } = new RowBinaryWriter(SCHEMA).encode(rows);
    expect(concatBytes(binary!.chunks)).toEqual(reference(rows));
    expect(readRows(binary!)).toEqual(rows);
  });

  it("leaves every row that does not fit the schema as an object, in order, without a trace in the bytes", () => {
    const good = (k: number): Row => ({ s: `r${k}`, u8: 0, u64: k, i64: -k, f: k / 3, as: ["a"], af: [k] });
    const bad: Row[] = [
      { ...good(0), u64: -1 },
      { ...good(0), u64: 2 ** 53 },
      { ...good(0), i64: 1.5 },
      { ...good(0), u8: 256 },
      { ...good(0), s: 5 },
      { ...good(0), f: "1" },
      { ...good(0), as: ["a", 1] as never },
      { ...good(0), af: [1, "2"] as never },
      { ...good(0), af: "12" },
      { ...good(0), extra: 1 },
      (({ f: _f, ...rest }) => rest)(good(0)),
      { ...good(0), s: null },
    ];
    const rows: Row[] = [];
    const goods: Row[] = [];
    bad.forEach((b, k) => {
      goods.push(good(k + 1));
      rows.push(goods[goods.length - 1]!, b);
    });
    const w = new RowBinaryWriter(SCHEMA);
    const { binary, rejected } = w.encode(rows);
    expect(rejected).toEqual(bad);
    expect(rejected[0]).toBe(bad[0]);
    expect(concatBytes(binary!.chunks)).toEqual(concatBytes(w.encode(goods).binary!.chunks));
    expect(w.encode([bad[0]!]).binary).toBeNull();
  });

  it("takes a row's columns in any key order", () => {
    const row: Row = { af: [1.5], as: ["x"], f: 2, i64: -3, u64: 4, u8: 5, s: "six" };
    const { binary } = new RowBinaryWriter(SCHEMA).encode([row]);
    expect(readRows(binary!)).toEqual([{ s: "six", u8: 5, u64: 4, i64: -3, f: 2, as: ["x"], af: [1.5] }]);
  });

  it("refuses bytes that are not whole rows", () => {
    const { binary } = new RowBinaryWriter(SCHEMA).encode([{ s: "a", u8: 1, u64: 1, i64: 1, f: 1, as: [], af: [] }]);
    const bytes = binary!.chunks[0]!;
    expect(() => readRows({ ...binary!, chunks: [bytes.subarray(0, bytes.length - 1)] })).toThrow(RowBinaryError);
    expect(() => readRows({ ...binary!, chunks: [bytes, new Uint8Array([1])] })).toThrow(/1 bytes left after 1 rows/);
  });

  it("rejects a schema with no columns or an unknown type", () => {
    expect(() => new RowBinaryWriter({ columns: [] })).toThrow(/at least one column/);
    expect(() => new RowBinaryWriter({ columns: [{ name: "d", type: "Date" as never }] })).toThrow(/column d: unsupported type Date/);
  });
});

describe("readRows with a selection", () => {
  // The key column late in the row, so rows are stepped over before and after it.
  const KEY_LATE: RowSchema = { columns: [...SCHEMA.columns.slice(1), SCHEMA.columns[0]!] };

  it("gives exactly the rows whose key passes, as a full read would (any key position)", () => {
    for (const schema of [SCHEMA, KEY_LATE]) {
      const w = new RowBinaryWriter(schema);
      fc.assert(
        fc.property(fc.array(arbRow, { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 3 }), (rows, mod) => {
          const binary = w.encode(rows as Row[]).binary!;
          const keep = (s: string) => s.length % 4 !== mod;
          const seen: string[] = [];
          const got = readRows(binary, { column: "s", keep: (s) => (seen.push(s), keep(s)) });
          expect(got).toEqual(readRows(binary).filter((r) => keep(r["s"] as string)));
          // The selection is asked once per row, with the row's key as a full read gives it.
          expect(seen).toEqual(rows.map((r) => asRead(r)["s"]));
        }),
        { numRuns: 200 },
      );
    }
  });

  it("keeps every row when the schema has no such String column", () => {
    const { binary } = new RowBinaryWriter(SCHEMA).encode([{ s: "a", u8: 1, u64: 1, i64: 1, f: 1, as: [], af: [] }]);
    expect(readRows(binary!, { column: "device_id", keep: () => false })).toHaveLength(1);
    expect(readRows(binary!, { column: "u64", keep: () => false })).toHaveLength(1);
  });

  it("still refuses bytes that are not whole rows, in rows it steps over", () => {
    const { binary } = new RowBinaryWriter(KEY_LATE).encode([
      { s: "a", u8: 1, u64: 1, i64: 1, f: 1, as: ["x", "y"], af: [1, 2] },
      { s: "b", u8: 1, u64: 1, i64: 1, f: 1, as: [], af: [] },
    ]);
    const bytes = binary!.chunks[0]!;
    const none = { column: "s", keep: () => false };
    expect(readRows(binary!, none)).toEqual([]);
    for (let cut = 0; cut < bytes.length; cut++) expect(() => readRows({ ...binary!, chunks: [bytes.subarray(0, cut)] }, none)).toThrow(RowBinaryError);
    expect(() => readRows({ ...binary!, chunks: [bytes, new Uint8Array([1])] }, none)).toThrow(/1 bytes left after 2 rows/);
  });

  it("refuses an array length past the bytes before allocating it", () => {
    const schema: RowSchema = { columns: [{ name: "as", type: "Array(String)" }] };
    // A count of 2^35 strings in a 6-byte body.
    expect(() => readRows({ schema, rows: 1, chunks: [new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])] })).toThrow(/truncated rows/);
  });
});

describe("RowBatch", () => {
  const w = new RowBinaryWriter(SCHEMA);
  const row = (k: number): Row => ({ s: `r${k}`, u8: 1, u64: k, i64: k, f: k, as: [], af: [] });

  it("concatenates batches of one schema by chunks, and keeps every row (binary first, then objects)", () => {
    const a = rowBatch(w.encode([row(1), row(2)]).binary, [{ x: 1 }]);
    const b = rowBatch(w.encode([row(3)]).binary, [{ x: 2 }]);
    // A structured clone (another thread's batch) has another schema object: same columns still merge.
    const c = concatRows(a, structuredClone(b));
    expect(c.length).toBe(5);
    expect(c.binary!.chunks).toHaveLength(2);
    expect(rowObjects(c)).toEqual([row(1), row(2), row(3), { x: 1 }, { x: 2 }]);
  });

  it("decodes a batch of another schema into objects instead of mixing bytes", () => {
    const other = new RowBinaryWriter({ columns: [{ name: "n", type: "UInt64" }] });
    const c = concatRows(rowBatch(w.encode([row(1)]).binary, []), rowBatch(other.encode([{ n: 7 }]).binary, []));
    expect(c.binary!.rows).toBe(1);
    expect(c.objects).toEqual([{ n: 7 }]);
    expect(rowObjects(c)).toEqual([row(1), { n: 7 }]);
  });

  it("treats empty batches as nothing", () => {
    const a = rowBatch(w.encode([row(1)]).binary, []);
    expect(concatRows(a, rowBatchOf([]))).toBe(a);
    expect(concatRows(rowBatchOf([]), a)).toBe(a);
    expect(rowObjects(undefined)).toEqual([]);
  });
});
