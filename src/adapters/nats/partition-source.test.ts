import { describe, expect, it } from "vitest";
import { pullExpiresMs } from "./partition-source.js";

describe("pullExpiresMs", () => {
  it("spreads a pull's life over 1.5–2.5 s, so a node's partition pulls do not expire in step", () => {
    expect(pullExpiresMs(0)).toBe(1500);
    expect(pullExpiresMs(0.5)).toBe(2000);
    expect(pullExpiresMs(0.9999)).toBe(2500);
    const lives = new Set(Array.from({ length: 64 }, (_, i) => pullExpiresMs(i / 64)));
    expect(lives.size).toBe(64);
  });
});
