import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SeriesBuffer } from "./series-buffer.js";

const xsOf = (b: SeriesBuffer) => Array.from(b.view()[0]);

describe("SeriesBuffer", () => {
  it("appends in order and hands out aligned columns", () => {
    const b = new SeriesBuffer(2, { capacity: 4 });
    b.add(1, [10, 0.1]);
    b.add(2, [20, 0.2]);
    const [x, v, s] = b.view();
    expect(Array.from(x)).toEqual([1, 2]);
    expect(Array.from(v!)).toEqual([10, 20]);
    expect(Array.from(s!)).toEqual([0.1, 0.2]);
    expect(b.firstX).toBe(1);
    expect(b.lastX).toBe(2);
    expect(b.max(1)).toBe(0.2);
  });

  it("keeps only the newest `capacity` points", () => {
    const b = new SeriesBuffer(1, { capacity: 3 });
    for (let i = 1; i <= 10; i++) b.add(i, [i * 10]);
    expect(b.length).toBe(3);
    expect(xsOf(b)).toEqual([8, 9, 10]);
    expect(Array.from(b.view()[1]!)).toEqual([80, 90, 100]);
  });

  it("drops points older than maxAgeMs behind the newest", () => {
    const b = new SeriesBuffer(1, { capacity: 100, maxAgeMs: 1000 });
    b.add(0, [1]);
    b.add(500, [2]);
    b.add(1400, [3]);
    expect(xsOf(b)).toEqual([500, 1400]);
    // A late point older than the window is refused.
    expect(b.add(100, [9])).toBe(false);
    expect(xsOf(b)).toEqual([500, 1400]);
  });

  it("inserts late points in order and replaces a point at the same time", () => {
    const b = new SeriesBuffer(1, { capacity: 10 });
    b.add(10, [1]);
    b.add(30, [3]);
    b.add(20, [2]);
    b.add(5, [0]);
    b.add(20, [22]);
    expect(xsOf(b)).toEqual([5, 10, 20, 30]);
    expect(Array.from(b.view()[1]!)).toEqual([0, 1, 22, 3]);
  });

  it("refuses a point older than everything when full", () => {
    const b = new SeriesBuffer(1, { capacity: 2 });
    b.add(10, [1]);
    b.add(20, [2]);
    expect(b.add(5, [0])).toBe(false);
    expect(xsOf(b)).toEqual([10, 20]);
  });

  it("stays in its preallocated arrays for a long run (flat memory)", () => {
    const b = new SeriesBuffer(2, { capacity: 1000, maxAgeMs: 60_000 });
    const before = b.view()[0].buffer;
    for (let i = 0; i < 200_000; i++) b.add(i * 100, [Math.sin(i), 0]);
    expect(b.view()[0].buffer).toBe(before);
    expect(b.length).toBe(601);
    expect(b.lastX).toBe(199_999 * 100);
  });

  it("rejects bad options and rows", () => {
    expect(() => new SeriesBuffer(1, { capacity: 0 })).toThrow(/capacity/);
    expect(() => new SeriesBuffer(0, { capacity: 1 })).toThrow(/columns/);
    expect(() => new SeriesBuffer(2, { capacity: 1 }).add(1, [1])).toThrow(/expected 2 values/);
    expect(new SeriesBuffer(1, { capacity: 1 }).add(Number.NaN, [1])).toBe(false);
  });

  it("holds the newest distinct times, sorted, whatever the arrival order", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 300 }), (capacity, times) => {
        const b = new SeriesBuffer(1, { capacity });
        for (const t of times) b.add(t, [t * 2]);
        const xs = xsOf(b);
        expect(xs.length).toBeLessThanOrEqual(capacity);
        for (let i = 1; i < xs.length; i++) expect(xs[i]!).toBeGreaterThan(xs[i - 1]!);
        expect(Array.from(b.view()[1]!)).toEqual(xs.map((x) => x * 2));
        if (times.length > 0) expect(b.lastX).toBe(Math.max(...times));
      }),
    );
  });
});
