/**
 * The shortest decimal of 6 to 8 significant digits that reads back as the same float32 (20.1,
 * not 20.100000381469727): how the device actor gives back the values its rings hold as float32.
 * It is `Number(v.toPrecision(d))` for the first d of 6, 7, 8 that reads back (else v), bit for
 * bit. Through toPrecision a window of 64 values took ~21 µs (330 ns per value, measured); this
 * scales v to an integer of d digits instead where that is exact (below), 3.3× faster, and asks
 * toPrecision only where it is not.
 */
export function shortestDecimal(v: number): number {
  if (v === 0) return 0;
  if (!Number.isFinite(v)) return v;
  const a = v < 0 ? -v : v;
  // a's decimal exponent; log10 may be off by one next to a power of ten, which the digit count
  // of m below catches.
  const e = Math.floor(Math.log10(a));
  for (let d = 6; d < 9; d++) {
    const m = scaledDecimal(a, d, d - 1 - e) ?? Number(a.toPrecision(d));
    const r = v < 0 ? -m : m;
    if (Math.fround(r) === v) return r;
  }
  return v;
}

/**
 * The double nearest to a rounded to d significant digits, as m / 10^k with m = round(a·10^k), or
 * undefined where that may differ from toPrecision: 10^k not an exact double (k outside 0..22),
 * a·10^k (rounded once, error < 2e-8 below 10^8) within 1e-6 of a half, or m not of d digits (the
 * exponent was off; m = 10^d, a rounded up to the next power of ten, is toPrecision's value too).
 * m and 10^k are exact, so m / 10^k is rounded once, to the double nearest m·10^-k: what parsing
 * toPrecision's string gives.
 */
function scaledDecimal(a: number, d: number, k: number): number | undefined {
  if (k < 0 || k > 22) return undefined;
  const scale = POW10[k]!;
  const scaled = a * scale;
  const frac = scaled - Math.floor(scaled);
  if (frac > 0.5 - 1e-6 && frac < 0.5 + 1e-6) return undefined;
  const m = Math.round(scaled);
  if (m < POW10[d - 1]! || m > POW10[d]!) return undefined;
  return m / scale;
}

/** 10^0 … 10^22, each an exact double. */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
