import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDuration, parseSize } from "./units.js";

describe("parseDuration", () => {
  it.each([
    ["250ms", 250],
    ["2s", 2000],
    ["1.5s", 1500],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["7d", 604_800_000],
    ["0ms", 0],
    [1500, 1500],
    [0, 0],
    [" 2s ", 2000],
  ] as const)("%j -> %d ms", (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each(["2x", "s", "", "-1s", "1 s", "1h30m", "2S", "1e3ms", -1, Number.NaN, Infinity, true, null, {}])("rejects %j", (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });

  it("round-trips every unit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom(["ms", 1], ["s", 1e3], ["m", 6e4], ["h", 3.6e6], ["d", 8.64e7]), (n, [u, f]) => {
        expect(parseDuration(`${n}${u}`)).toBe(n * (f as number));
      }),
    );
  });
});

describe("parseSize", () => {
  it.each([
    ["16KiB", 16384],
    ["1MiB", 1_048_576],
    ["1GiB", 1_073_741_824],
    ["512B", 512],
    ["1.5KiB", 1536],
    [4096, 4096],
  ] as const)("%j -> %d bytes", (input, bytes) => expect(parseSize(input)).toBe(bytes));

  it.each(["16KB", "1mib", "1.1B", "KiB", "", -1, 1.5, "1TiB", false])("rejects %j", (input) => {
    expect(parseSize(input)).toBeUndefined();
  });
});
