import { describe, expect, it } from "vitest";
import { Coalescer } from "./coalescer.js";
import { createMicroBatcher } from "./micro-batcher.js";
import { SimClock } from "../base/testing/sim-clock.js";

describe("Coalescer", () => {
  it("100 identical concurrent calls run fn once; the next call runs again", async () => {
    const c = new Coalescer<number>();
    let calls = 0;
    let release!: (n: number) => void;
    const fn = () => { calls++; return new Promise<number>((r) => (release = r)); };
    const ps = Array.from({ length: 100 }, () => c.run("k", fn).promise);
    release(42);
    expect(await Promise.all(ps)).toEqual(Array(100).fill(42));
    expect(calls).toBe(1);
    expect(c.joined).toBe(99);
    await c.run("k", async () => { calls++; return 1; }).promise;
    expect(calls).toBe(2);
  });
});

describe("micro-batcher", () => {
  it("flushes at maxBatch and after maxWaitMs; per-item errors stay per item", async () => {
    const clock = new SimClock();
    const batches: number[][] = [];
    const b = createMicroBatcher<number, number>({
      clock,
      maxBatch: 3,
      maxWaitMs: 5,
      run: async (xs) => { batches.push([...xs]); return xs.map((x) => (x < 0 ? new Error("neg") : x * 2)); },
    });
    const ps = [1, 2, 3, 4, -5].map((x) => b(x).catch((e: Error) => e.message));
    expect(batches).toEqual([[1, 2, 3]]);
    await clock.advance(5);
    expect(await Promise.all(ps)).toEqual([2, 4, 6, 8, "neg"]);
    expect(batches).toEqual([[1, 2, 3], [4, -5]]);
  });

  it("with maxConcurrentBatches, items accumulate while batches are in flight", async () => {
    const clock = new SimClock();
    const sizes: number[] = [];
    const releases: Array<() => void> = [];
    const b = createMicroBatcher<number, number>({
      clock,
      maxBatch: 4,
      maxWaitMs: 1,
      maxConcurrentBatches: 1,
      run: (xs) => {
        sizes.push(xs.length);
        return new Promise((res) => releases.push(() => res(xs)));
      },
    });
    const ps = Array.from({ length: 10 }, (_, i) => b(i));
    expect(sizes).toEqual([4]); // the rest waits for the one batch in flight
    releases.shift()!();
    await clock.advance(0);
    expect(sizes).toEqual([4, 4]);
    releases.shift()!();
    await clock.advance(0);
    releases.shift()!();
    expect(await Promise.all(ps)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sizes).toEqual([4, 4, 2]);
  });
});
