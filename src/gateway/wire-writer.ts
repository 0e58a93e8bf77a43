/** Minimal protobuf wire writer (varints, length prefixes, strings, doubles) for score-codec.ts. */

/** UTF-8 byte length (fast for ASCII). */
export function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s);
  return s.length;
}

export class Writer {
  buf: Buffer;
  pos = 0;
  private f64 = new Float64Array(64);
  /** A float64 scratch of at least `n` slots, reused across windows of one encode. */
  scratch(n: number): Float64Array {
    if (this.f64.length < n) this.f64 = new Float64Array(Math.max(n, this.f64.length * 2));
    return this.f64;
  }
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  varint(v: number): void {
    this.ensure(10);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  /** Reserve a length prefix of 5 bytes max; returns a function that fills it in (shifting if shorter). */
  begin(): number {
    this.ensure(5);
    this.pos += 5;
    return this.pos;
  }
  end(start: number): void {
    const len = this.pos - start;
    let lenBytes = 1;
    for (let v = len; v > 0x7f; v = Math.floor(v / 128)) lenBytes++;
    const at = start - 5;
    if (lenBytes < 5) this.buf.copy(this.buf, at + lenBytes, start, this.pos);
    let p = at;
    let v = len;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[p] = v;
    this.pos -= 5 - lenBytes;
  }
  string(tag: number, s: string): void {
    if (s.length === 0) return;
    const n = utf8Length(s);
    this.varint(tag);
    this.varint(n);
    this.ensure(n);
    if (n === s.length) {
      // ASCII (device ids, metric names): a byte loop beats a call into Buffer.write for short strings.
      for (let i = 0; i < n; i++) this.buf[this.pos + i] = s.charCodeAt(i);
      this.pos += n;
    } else this.pos += this.buf.write(s, this.pos, "utf8");
  }
  /** A varint field. */
  tagged(tag: number, v: number): void {
    this.varint(tag);
    this.varint(v);
  }
  double(tag: number, v: number): void {
    this.varint(tag);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

