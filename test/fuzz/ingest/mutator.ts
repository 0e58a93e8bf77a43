/**
 * A raw-bytes mutator in the manner of libFuzzer/AFL: it takes valid payloads (a corpus) and
 * flips bits, overwrites bytes with "interesting" values, inserts, deletes, duplicates and
 * truncates ranges, and splices two payloads together. Seeded and deterministic (xorshift32), so a
 * failing input is found again from its seed and index.
 */

import { concatBytes } from "../../../src/domain/row-binary-read.js";

/** A deterministic pseudo-random generator (xorshift32); `next()` is in [0, 2^32). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** The next number, in [0, 2^32). */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  /** One element of `xs` (non-empty). */
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }
}

/** Bytes that break parsers: bounds of varints and UTF-8, JSON and protobuf punctuation, the batch tag. */
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0xc0, 0xed, 0xf4, 0x7b, 0x7d, 0x22, 0x5b, 0x5d, 0x2c, 0x3a, 0x5c, 0x2d, 0x30, 0x39, 0x65, 0x2e, 0x20, 0x7a, 0x0a, 0x12, 0x22, 0x08, 0x10, 0x18, 0x2a, 0x30, 0x0b, 0x0c];

/** The names of the mutations, in the order of {@link mutateBytes}'s switch. */
export const MUTATIONS = ["bitflip", "byte", "interesting", "insert", "delete", "duplicate", "truncate", "splice", "digits", "overwrite-run"] as const;

/** One mutation of `b` (a new array; `b` is not changed); `other` is spliced in by "splice". */
export function mutateOnce(rng: Rng, b: Uint8Array, other: Uint8Array): Uint8Array {
  const n = b.length;
  const at = rng.below(n + 1);
  switch (rng.below(MUTATIONS.length)) {
    case 0: {
      if (n === 0) return Uint8Array.of(rng.below(256));
      const out = b.slice();
      out[rng.below(n)]! ^= 1 << rng.below(8);
      return out;
    }
    case 1: {
      if (n === 0) return Uint8Array.of(rng.below(256));
      const out = b.slice();
      out[rng.below(n)] = rng.below(256);
      return out;
    }
    case 2: {
      if (n === 0) return Uint8Array.of(rng.pick(INTERESTING));
      const out = b.slice();
      out[rng.below(n)] = rng.pick(INTERESTING);
      return out;
    }
    case 3: {
      const len = 1 + rng.below(rng.below(4) === 0 ? 64 : 4);
      const ins = new Uint8Array(len);
      for (let i = 0; i < len; i++) ins[i] = rng.below(2) === 0 ? rng.pick(INTERESTING) : rng.below(256);
      return concatBytes([b.subarray(0, at), ins, b.subarray(at)]);
    }
    case 4: {
      const len = 1 + rng.below(Math.max(1, Math.min(16, n - at)));
      return concatBytes([b.subarray(0, at), b.subarray(Math.min(n, at + len))]);
    }
    case 5: {
      const len = 1 + rng.below(Math.max(1, Math.min(32, n - at)));
      const part = b.subarray(at, at + len);
      return concatBytes([b.subarray(0, at), part, part, b.subarray(at + len)]);
    }
    case 6:
      return b.slice(0, rng.below(n + 1));
    case 7: {
      const from = rng.below(other.length + 1);
      return concatBytes([b.subarray(0, at), other.subarray(from)]);
    }
    case 8: {
      // Overwrite an ASCII digit run (numbers in JSON) with other digits or a sign/exponent.
      const out = b.slice();
      for (let i = at; i < n && out[i]! >= 0x30 && out[i]! <= 0x39; i++) out[i] = rng.pick([0x30, 0x39, 0x2d, 0x65, 0x2e, 0x31 + rng.below(8)]);
      if (at < n && (out[at]! < 0x30 || out[at]! > 0x39)) out[at] = 0x30 + rng.below(10);
      return out;
    }
    default: {
      if (n === 0) return b.slice();
      const out = b.slice();
      const v = rng.pick(INTERESTING);
      const len = 1 + rng.below(Math.min(8, n - Math.min(at, n - 1)));
      out.fill(v, Math.min(at, n - 1), Math.min(n, Math.min(at, n - 1) + len));
      return out;
    }
  }
}

/** 1 to 8 stacked mutations of a corpus entry (AFL's "havoc"). */
export function mutateBytes(rng: Rng, corpus: readonly Uint8Array[]): Uint8Array {
  let b = rng.pick(corpus);
  const rounds = 1 + rng.below(rng.below(2) === 0 ? 2 : 8);
  for (let i = 0; i < rounds; i++) b = mutateOnce(rng, b, rng.pick(corpus));
  return b;
}
