/**
 * A tiny protobuf wire writer for the fuzzers: it writes whatever it is told — valid fields,
 * wrong wire types, out-of-range varints, field number 0, groups, lengths that lie — so a test
 * can build the malformed messages a real encoder never produces.
 */

/** One field on the wire; `raw` bytes are written as they are (no tag). */
export type WireField =
  | { readonly no: number; readonly kind: "varint"; readonly value: bigint }
  | { readonly no: number; readonly kind: "fixed64"; readonly bytes: Uint8Array }
  | { readonly no: number; readonly kind: "fixed32"; readonly bytes: Uint8Array }
  | { readonly no: number; readonly kind: "bytes"; readonly bytes: Uint8Array; readonly lengthDelta?: number }
  | { readonly no: number; readonly kind: "group"; readonly fields: readonly WireField[] }
  | { readonly kind: "raw"; readonly bytes: Uint8Array };

const enc = new TextEncoder();

/** Bytes of a base-128 varint of `v` (negative values as 64-bit two's complement: 10 bytes). */
export function varint(v: bigint): number[] {
  let x = v < 0n ? (1n << 64n) + v : v;
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

const tag = (no: number, wt: number): number[] => varint((BigInt(no) << 3n) | BigInt(wt));

/** The little-endian bytes of a double. */
export function double(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return b;
}

/** A length-delimited field holding a string as UTF-8. */
export const str = (no: number, s: string): WireField => ({ no, kind: "bytes", bytes: enc.encode(s) });
/** A varint field. */
export const uint = (no: number, v: bigint | number): WireField => ({ no, kind: "varint", value: BigInt(v) });
/** A nested message field. */
export const msg = (no: number, fields: readonly WireField[]): WireField => ({ no, kind: "bytes", bytes: writeFields(fields) });

/** The wire bytes of `fields`, in order. */
export function writeFields(fields: readonly WireField[]): Uint8Array {
  const out: number[] = [];
  const push = (b: ArrayLike<number>) => {
    for (let i = 0; i < b.length; i++) out.push(b[i]!);
  };
  for (const f of fields) {
    switch (f.kind) {
      case "raw":
        push(f.bytes);
        break;
      case "varint":
        push(tag(f.no, 0));
        push(varint(f.value));
        break;
      case "fixed64":
        push(tag(f.no, 1));
        push(f.bytes);
        break;
      case "fixed32":
        push(tag(f.no, 5));
        push(f.bytes);
        break;
      case "bytes":
        push(tag(f.no, 2));
        push(varint(BigInt(Math.max(0, f.bytes.length + (f.lengthDelta ?? 0)))));
        push(f.bytes);
        break;
      case "group":
        push(tag(f.no, 3));
        push(writeFields(f.fields));
        push(tag(f.no, 4));
        break;
    }
  }
  return Uint8Array.from(out);
}
