import { ShoalError } from "../base/errors.js";
import type { BinaryRows, Row } from "../ports/row-sink.js";
import { ARR_FLOAT64, ARR_STRING, CODES, FLOAT64, INT64, STRING, TWO32, UINT64, UINT8 } from "./row-binary.js";

/**
 * Reading RowBinary back into row objects (the format: src/domain/row-binary.ts). Used where rows
 * come back from the row log: the read side's live feed (every insert of the fleet, while anyone
 * watches), repairs, the sink's JSON fallback, tests. With a {@link RowSelection}, rows that are
 * not wanted are stepped over by their lengths, without building strings, arrays or objects.
 */

/** Thrown by `readRows` for bytes that are not rows of the schema. */
export class RowBinaryError extends ShoalError {
  override readonly name = "RowBinaryError";
  constructor(message: string) {
    super(message, { code: "invalid_input", retryable: false });
  }
}

/**
 * The rows a reader wants: those whose String column `column` passes `keep`. Rows that fail it are
 * skipped (their bytes still checked for length); a schema without that column keeps every row.
 */
export interface RowSelection {
  readonly column: string;
  readonly keep: (value: string) => boolean;
}

/** The rows of `b` as objects, or only the selected ones. UInt64/Int64 come back as numbers. */
export function readRows(b: BinaryRows, select?: RowSelection): Row[] {
  const bytes = b.chunks.length === 1 ? b.chunks[0]! : concatBytes(b.chunks);
  const columns = b.schema.columns;
  const names = columns.map((c) => c.name);
  const codes = columns.map((c) => {
    const code = CODES[c.type];
    if (code === undefined) throw new RowBinaryError(`column ${c.name}: unsupported type ${String(c.type)}`);
    return code;
  });
  const keyAt = select === undefined ? -1 : columns.findIndex((c) => c.name === select.column && c.type === "String");
  const cur = new Cursor(bytes);
  const out: Row[] = [];
  for (let r = 0; r < b.rows; r++) {
    if (keyAt >= 0) {
      // Step over the columns before the key, read the key, then read or step over the rest.
      const start = cur.p;
      for (let i = 0; i < keyAt; i++) cur.skip(codes[i]!);
      const keep = select!.keep(cur.str());
      cur.p = start;
      if (!keep) {
        for (let i = 0; i < codes.length; i++) cur.skip(codes[i]!);
        continue;
      }
    }
    const row: Row = {};
    for (let i = 0; i < codes.length; i++) row[names[i]!] = cur.value(codes[i]!);
    out.push(row);
  }
  if (cur.p !== bytes.length) throw new RowBinaryError(`${bytes.length - cur.p} bytes left after ${b.rows} rows`);
  return out;
}

/** One buffer holding `chunks` in order. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A read position in one buffer of rows; every read checks the bounds. */
class Cursor {
  p = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  value(code: number): Row[string] {
    switch (code) {
      case STRING:
        return this.str();
      case UINT8:
        this.need(1);
        return this.bytes[this.p++]!;
      case UINT64:
        return this.i64(true);
      case INT64:
        return this.i64(false);
      case FLOAT64:
        return this.f64();
      case ARR_STRING: {
        const n = this.varint();
        // Each string takes one byte at least: a length past the bytes left is refused before allocating.
        this.need(n);
        const a = new Array<string>(n);
        for (let j = 0; j < n; j++) a[j] = this.str();
        return a;
      }
      default: {
        const n = this.varint();
        this.need(8 * n);
        const a = new Array<number>(n);
        for (let j = 0; j < n; j++) a[j] = this.f64();
        return a;
      }
    }
  }

  skip(code: number): void {
    switch (code) {
      case STRING:
        this.step(this.varint());
        return;
      case UINT8:
        this.step(1);
        return;
      case ARR_STRING:
        for (let j = this.varint(); j > 0; j--) this.step(this.varint());
        return;
      case ARR_FLOAT64:
        this.step(8 * this.varint());
        return;
      default:
        this.step(8);
    }
  }

  /** UTF-8 text; short ASCII (device ids, metric names) without the decoder's call. */
  str(): string {
    const len = this.varint();
    this.need(len);
    const bytes = this.bytes;
    const p = this.p;
    this.p = p + len;
    if (len <= 24) {
      let s = "";
      for (let j = 0; j < len; j++) {
        const c = bytes[p + j]!;
        if (c >= 0x80) return utf8.decode(bytes.subarray(p, p + len));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8.decode(bytes.subarray(p, p + len));
  }

  private f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.p, true);
    this.p += 8;
    return v;
  }

  private i64(unsigned: boolean): number {
    this.need(8);
    const lo = this.view.getUint32(this.p, true);
    const hi = unsigned ? this.view.getUint32(this.p + 4, true) : this.view.getInt32(this.p + 4, true);
    this.p += 8;
    return hi * TWO32 + lo;
  }

  private varint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      this.need(1);
      const byte = this.bytes[this.p++]!;
      n += (byte & 0x7f) * mul;
      if (byte < 0x80) return n;
      mul *= 128;
      if (mul > 2 ** 49) throw new RowBinaryError(`length prefix too long at offset ${this.p}`);
    }
  }

  private step(n: number): void {
    this.need(n);
    this.p += n;
  }

  private need(n: number): void {
    if (this.p + n > this.bytes.length) throw new RowBinaryError(`truncated rows: ${n} bytes wanted at offset ${this.p} of ${this.bytes.length}`);
  }
}
