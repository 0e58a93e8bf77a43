/** Bytes of the unsigned LEB128 (protobuf varint) form of `v`, an integer in [0, 2^53). */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}
