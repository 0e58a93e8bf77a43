import { describe, expect, it } from "vitest";
import { parseMatrix, parseTepSamples, sampleMetrics, TEP_METRICS, TepFormatError } from "./parse.js";

/** A text of `rows` lines of `cols` numbers, value = 100·row + col. */
function matrixText(rows: number, cols: number): string {
  return Array.from({ length: rows }, (_, r) => "  " + Array.from({ length: cols }, (_, c) => (100 * r + c).toExponential(7)).join("   ")).join("\n") + "\n";
}

describe("TEP parser", () => {
  it("names the 52 variables xmeas_1..xmeas_41 then xmv_1..xmv_11", () => {
    expect(TEP_METRICS).toHaveLength(52);
    expect(TEP_METRICS[0]).toBe("xmeas_1");
    expect(TEP_METRICS[40]).toBe("xmeas_41");
    expect(TEP_METRICS[41]).toBe("xmv_1");
    expect(TEP_METRICS[51]).toBe("xmv_11");
  });

  it("reads one sample per line as is (the _te files)", () => {
    const t = parseTepSamples(matrixText(3, 52));
    expect(t.samples).toBe(3);
    expect(t.transposed).toBe(false);
    expect(t.values[2 * 52 + 5]).toBe(205);
    expect(sampleMetrics(t, 1)).toMatchObject({ xmeas_1: 100, xmv_11: 151 });
  });

  it("transposes a file of one variable per line (upstream's d00.dat)", () => {
    const t = parseTepSamples(matrixText(52, 7));
    expect(t.samples).toBe(7);
    expect(t.transposed).toBe(true);
    // Sample 3 is column 3: variable v holds 100·v + 3.
    expect(sampleMetrics(t, 3)).toMatchObject({ xmeas_1: 3, xmeas_2: 103, xmv_11: 5103 });
  });

  it("rejects ragged rows, non-numbers and matrices without a dimension of 52", () => {
    expect(() => parseMatrix("1 2 3\n4 5\n")).toThrow(TepFormatError);
    expect(() => parseMatrix("1 x 3\n")).toThrow(/not a number/);
    expect(() => parseTepSamples(matrixText(4, 51))).toThrow(/52 variables/);
    try {
      parseTepSamples(matrixText(4, 51));
    } catch (e) {
      expect((e as TepFormatError).code).toBe("invalid_input");
    }
  });
});
