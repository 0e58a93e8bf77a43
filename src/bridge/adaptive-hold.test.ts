import { describe, expect, it } from "vitest";
import { AdaptiveHold } from "./adaptive-hold.js";

describe("AdaptiveHold: the wait that would have caught the stragglers of the last minute", () => {
  it("starts at minMs, grows to 1.5 × the latest straggler, never beyond maxMs", () => {
    const h = new AdaptiveHold({ minMs: 200, maxMs: 5000 });
    expect(h.ms(0)).toBe(200);
    h.observe(100, 10); // under the minimum: no change
    expect(h.ms(10)).toBe(200);
    h.observe(1000, 20);
    expect(h.ms(20)).toBe(1500);
    h.observe(700, 30); // a smaller one does not lower it
    expect(h.ms(30)).toBe(1500);
    h.observe(60_000, 40);
    expect(h.ms(40)).toBe(5000);
  });

  it("falls back a bucket (a sixth of the window) at a time once none come, to minMs after the window", () => {
    const h = new AdaptiveHold({ minMs: 200, maxMs: 5000, windowMs: 60_000 });
    h.ms(0);
    h.observe(2000, 1000); // bucket [0, 10 s)
    h.observe(1000, 15_000); // bucket [10 s, 20 s)
    expect(h.ms(15_000)).toBe(3000);
    expect(h.ms(59_999)).toBe(3000); // the 2 s straggler is still in the window
    expect(h.ms(60_000)).toBe(1500); // its bucket left the window; the 1 s one is still in
    expect(h.ms(70_000)).toBe(200);
    h.observe(400, 70_001);
    expect(h.ms(70_001)).toBe(600);
    expect(h.ms(10_000_000)).toBe(200); // a long quiet spell forgets everything at once
  });

  it("is fixed when maxMs ≤ minMs", () => {
    const h = new AdaptiveHold({ minMs: 200, maxMs: 200 });
    expect(h.adaptive).toBe(false);
    h.observe(10_000, 1);
    expect(h.ms(1)).toBe(200);
  });
});
