import { InvalidRequestError } from "./errors.js";

/** Minimal protobuf wire reader for score-codec.ts; malformed input throws InvalidRequestError. */
export class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new InvalidRequestError("truncated varint");
      const b = this.buf[this.pos++]!;
      if (i < 8) result += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return result;
    }
    throw new InvalidRequestError("varint too long");
  }
  int64(): number {
    const start = this.pos;
    const v = this.varint();
    // 10-byte varints are negative int64s: decode exactly with BigInt.
    if (this.pos - start < 10) return v;
    let big = 0n;
    for (let i = 0; i < 10; i++) big |= BigInt(this.buf[start + i]! & 0x7f) << BigInt(7 * i);
    return Number(BigInt.asIntN(64, big));
  }
  len(): number {
    const n = this.varint();
    if (this.pos + n > this.end) throw new InvalidRequestError("truncated length-delimited field");
    return n;
  }
  string(): string {
    const n = this.len();
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  double(): number {
    if (this.pos + 8 > this.end) throw new InvalidRequestError("truncated double");
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.pos += this.len();
    else if (wireType === 5) this.pos += 4;
    else throw new InvalidRequestError(`unsupported wire type ${wireType}`);
    if (this.pos > this.end) throw new InvalidRequestError("truncated field");
  }
}

