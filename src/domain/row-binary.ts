import type { BinaryRows, ColumnType, Row, RowSchema } from "../ports/row-sink.js";
import { varintSize } from "../base/varint.js";

/**
 * Rows in ClickHouse's RowBinary format: the form rows take between the threads that make them and
 * the sink that inserts them (docs/adr/0006, decision 18). A double is 8 bytes copied, not a
 * shortest round-trip decimal (which made JSON text ~2 µs per reading row); the sink sends the
 * bytes unchanged (`INSERT INTO t (columns) FORMAT RowBinary`). Little-endian; strings and arrays
 * carry an unsigned LEB128 length.
 */

/** Column type codes, shared by the writer and the reader (src/domain/row-binary-read.ts). */
export const STRING = 0;
export const UINT8 = 1;
export const UINT64 = 2;
export const INT64 = 3;
export const FLOAT64 = 4;
export const ARR_STRING = 5;
export const ARR_FLOAT64 = 6;
export const CODES: Readonly<Record<ColumnType, number>> = {
  String: STRING,
  UInt8: UINT8,
  UInt64: UINT64,
  Int64: INT64,
  Float64: FLOAT64,
  "Array(String)": ARR_STRING,
  "Array(Float64)": ARR_FLOAT64,
};
export const TWO32 = 2 ** 32;

/** Identity of a schema across threads (a structured clone is another object): "name:type,…". */
export function schemaKey(s: RowSchema): string {
  let k = "";
  for (const c of s.columns) k += `${c.name}:${c.type},`;
  return k;
}

/**
 * Encodes rows of one schema. A row is written only when it has exactly the schema's columns with
 * values of their types (strings; integers in range for UInt8/UInt64/Int64, booleans for UInt8;
 * numbers for Float64; arrays of those); any other row is returned as `rejected`, untouched, so the
 * caller can send it on as an object (where the sink's JSON insert gives it the error it deserves).
 * Holds one scratch buffer that grows to the largest batch; not for concurrent use.
 */
export class RowBinaryWriter {
  private buf = new Uint8Array(64 * 1024);
  private view = new DataView(this.buf.buffer);
  private pos = 0;
  private readonly names: readonly string[];
  private readonly codes: Int32Array;
  private readonly encoder = new TextEncoder();

  constructor(readonly schema: RowSchema) {
    if (schema.columns.length === 0) throw new Error("a row schema needs at least one column");
    this.names = schema.columns.map((c) => c.name);
    this.codes = Int32Array.from(schema.columns, (c) => {
      const code = CODES[c.type];
      if (code === undefined) throw new Error(`column ${c.name}: unsupported type ${String(c.type)}`);
      return code;
    });
  }

  /** The rows that fit the schema as RowBinary (null when none), and the ones that did not. */
  encode(rows: readonly Row[]): { binary: BinaryRows | null; rejected: Row[] } {
    const rejected: Row[] = [];
    this.pos = 0;
    let n = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const start = this.pos;
      if (this.writeRow(row)) n++;
      else {
        this.pos = start;
        rejected.push(row);
      }
    }
    const binary = n === 0 ? null : { schema: this.schema, rows: n, chunks: [this.buf.slice(0, this.pos)] };
    return { binary, rejected };
  }

  private writeRow(row: Row): boolean {
    // Rows are usually built with their keys in column order: one for-in pass checks the keys and
    // reads the values from V8's enum cache. Any other order takes the by-name path.
    const names = this.names;
    const n = names.length;
    const start = this.pos;
    let i = 0;
    for (const k in row) {
      if (i === n || k !== names[i]) {
        this.pos = start;
        return this.writeRowByName(row);
      }
      if (!this.writeValue(this.codes[i]!, row[k])) return false;
      i++;
    }
    return i === n;
  }

  private writeRowByName(row: Row): boolean {
    let keys = 0;
    for (const k in row) if (Object.hasOwn(row, k)) keys++;
    if (keys !== this.names.length) return false;
    for (let i = 0; i < this.names.length; i++) {
      const name = this.names[i]!;
      if (!Object.hasOwn(row, name) || !this.writeValue(this.codes[i]!, row[name])) return false;
    }
    return true;
  }

  private writeValue(code: number, v: unknown): boolean {
    switch (code) {
      case STRING:
        if (typeof v !== "string") return false;
        this.writeString(v);
        return true;
      case FLOAT64:
        if (typeof v !== "number") return false;
        this.ensure(8);
        this.view.setFloat64(this.pos, v, true);
        this.pos += 8;
        return true;
      case UINT64:
        if (!Number.isSafeInteger(v) || (v as number) < 0) return false;
        this.writeInt64(v as number);
        return true;
      case INT64:
        if (!Number.isSafeInteger(v)) return false;
        this.writeInt64(v as number);
        return true;
      case UINT8: {
        const b = v === true ? 1 : v === false ? 0 : v;
        if (!Number.isInteger(b) || (b as number) < 0 || (b as number) > 255) return false;
        this.ensure(1);
        this.buf[this.pos++] = b as number;
        return true;
      }
      case ARR_FLOAT64:
        return this.writeFloatArray(v);
      case ARR_STRING:
        return this.writeStringArray(v);
      default:
        return false;
    }
  }

  /** A safe integer as 8 little-endian bytes (two's complement when negative). */
  private writeInt64(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / TWO32);
    this.view.setUint32(this.pos, v - hi * TWO32, true);
    this.view.setInt32(this.pos + 4, hi, true);
    this.pos += 8;
  }

  private writeFloatArray(v: unknown): boolean {
    const a = Array.isArray(v) ? (v as unknown[]) : v instanceof Float64Array || v instanceof Float32Array ? v : null;
    if (a === null) return false;
    const n = a.length;
    this.ensure(5 + 8 * n);
    this.writeVarint(n);
    for (let j = 0; j < n; j++) {
      const x = a[j];
      if (typeof x !== "number") return false;
      this.view.setFloat64(this.pos, x, true);
      this.pos += 8;
    }
    return true;
  }

  private writeStringArray(v: unknown): boolean {
    if (!Array.isArray(v)) return false;
    const a = v as unknown[];
    this.ensure(5);
    this.writeVarint(a.length);
    for (let j = 0; j < a.length; j++) {
      const s = a[j];
      if (typeof s !== "string") return false;
      this.writeString(s);
    }
    return true;
  }

  /** UTF-8 with its byte length as a varint; ASCII is copied char by char. */
  private writeString(s: string): void {
    const len = s.length;
    this.ensure(5 + 3 * len);
    const buf = this.buf;
    const p = this.pos;
    if (len < 128) {
      let j = 0;
      for (; j < len; j++) {
        const c = s.charCodeAt(j);
        if (c >= 0x80) break;
        buf[p + 1 + j] = c;
      }
      if (j === len) {
        buf[p] = len;
        this.pos = p + 1 + len;
        return;
      }
    }
    // Room for the longest length prefix, then move the bytes back if the prefix is shorter.
    const room = varintSize(3 * len);
    const { written } = this.encoder.encodeInto(s, buf.subarray(p + room));
    const size = varintSize(written);
    if (size < room) buf.copyWithin(p + size, p + room, p + room + written);
    this.pos = p;
    this.writeVarint(written);
    this.pos = p + size + written;
  }

  private writeVarint(n: number): void {
    const buf = this.buf;
    let p = this.pos;
    while (n >= 0x80) {
      buf[p++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    buf[p++] = n;
    this.pos = p;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}
