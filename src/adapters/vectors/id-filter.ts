/**
 * A Bloom filter of the ids a table holds (UUIDs; version 5 ids are SHA-1 output, so their own bits
 * serve as the hashes). It lets an upsert of new objects be a plain append: only ids the filter
 * says may exist are looked up in the table. A false "may exist" costs one small lookup; it never
 * says "absent" for an id it was given. 32 bits per id, 8 probes: about 6 false positives per
 * million ids. Deleted ids stay in it until it is rebuilt (it only grows by doubling, rebuilt from
 * the table).
 */
const BITS_PER_ID = 32;
const PROBES = 8;

export class IdFilter {
  private bits: Uint32Array;
  private readonly mask: number;
  private added = 0;

  /** Room for `capacity` ids at the designed false-positive rate. */
  constructor(readonly capacity: number) {
    // A power of two number of bits, so a probe is a mask.
    let m = 1024;
    while (m < capacity * BITS_PER_ID) m *= 2;
    this.bits = new Uint32Array(m / 32);
    this.mask = m - 1;
  }

  /** Ids added (duplicates counted). When it passes `capacity`, rebuild a larger filter. */
  get size(): number {
    return this.added;
  }

  private static hashes(id: string): [number, number] {
    // Two 32-bit words from the UUID's hex digits (dashes at 8, 13, 18, 23).
    return [Number.parseInt(id.slice(0, 8), 16) >>> 0, (Number.parseInt(id.slice(9, 13) + id.slice(14, 18), 16) | 1) >>> 0];
  }

  add(id: string): void {
    const [h1, h2] = IdFilter.hashes(id);
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.added++;
  }

  /** False: certainly never added. True: maybe. */
  mayHave(id: string): boolean {
    const [h1, h2] = IdFilter.hashes(id);
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}
