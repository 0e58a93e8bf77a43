import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { shortestDecimal } from "./float32-decimal.js";

/** The definition: the first of 6, 7, 8 significant digits that reads back as the same float32. */
function reference(v: number): number {
  for (let d = 6; d < 9; d++) {
    const r = Number(v.toPrecision(d));
    if (Math.fround(r) === v) return r;
  }
  return v;
}

const f32 = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0]!;

describe("shortestDecimal", () => {
  it("gives back what a sensor sent, not float32's binary expansion", () => {
    expect(shortestDecimal(Math.fround(20.1))).toBe(20.1);
    expect(shortestDecimal(Math.fround(-0.00123))).toBe(-0.00123);
    expect(shortestDecimal(Math.fround(1013.25))).toBe(1013.25);
    expect(shortestDecimal(Math.fround(16777215))).toBe(16777215);
    expect(shortestDecimal(Math.fround(0.1))).toBe(0.1);
  });

  it("is toPrecision's value bit for bit on random float32 bit patterns (any exponent, NaN and infinities included)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
        const v = f32(bits >>> 0);
        expect(Object.is(shortestDecimal(v), reference(v)) || (Number.isNaN(v) && Number.isNaN(shortestDecimal(v)))).toBe(true);
      }),
      { numRuns: 200_000 },
    );
  });

  it("is toPrecision's value on sensor-like decimals, ties and powers of ten", () => {
    const values: number[] = [0, -0, Infinity, -Infinity];
    for (let e = -20; e <= 12; e++) for (const m of [1, 0.99999995, 1.0000001, 9.9999995, 5, 2.5, 1.25, 0.5]) values.push(m * 10 ** e, -m * 10 ** e);
    fc.assert(
      fc.property(fc.integer({ min: -10_000_000, max: 10_000_000 }), fc.integer({ min: 0, max: 9 }), (m, k) => {
        const v = Math.fround(m / 10 ** k);
        expect(Object.is(shortestDecimal(v), reference(v))).toBe(true);
      }),
      { numRuns: 200_000 },
    );
    for (const x of values) {
      const v = Math.fround(x);
      expect(Object.is(shortestDecimal(v), reference(v)), `${x}`).toBe(true);
    }
  });
});
