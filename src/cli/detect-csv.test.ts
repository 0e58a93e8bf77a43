import { describe, expect, it } from "vitest";
import { layoutOf, parseMetric, parseTimestamp, splitCsvLine } from "./detect-csv.js";

describe("shoal detect's CSV reading", () => {
  it("reads timestamps of every documented kind, UTC when no zone is written", () => {
    expect(parseTimestamp("2014-04-01 00:00:00")).toBe(Date.UTC(2014, 3, 1));
    expect(parseTimestamp("2014-04-01 13:05")).toBe(Date.UTC(2014, 3, 1, 13, 5));
    expect(parseTimestamp("2014-04-01T00:00:00.250")).toBe(Date.UTC(2014, 3, 1) + 250);
    expect(parseTimestamp("2014-04-01T00:00:00Z")).toBe(Date.UTC(2014, 3, 1));
    expect(parseTimestamp("2014-04-01T00:00:00+02:00")).toBe(Date.UTC(2014, 2, 31, 22));
    expect(parseTimestamp("2014-04-01 00:00:00.123456")).toBe(Date.UTC(2014, 3, 1) + 123);
    expect(parseTimestamp("2014-04-01 02:00:00+0200")).toBe(Date.UTC(2014, 3, 1));
    expect(parseTimestamp("2014-04-01")).toBe(Date.UTC(2014, 3, 1));
    expect(parseTimestamp("1700000000")).toBe(1_700_000_000_000);
    expect(parseTimestamp("1700000000.5")).toBe(1_700_000_000_500);
    expect(parseTimestamp("1700000000123")).toBe(1_700_000_000_123);
  });

  it("refuses timestamps it cannot read rather than guessing", () => {
    for (const bad of ["", "soon", "2014-13-45 00:00:00", "04/01/2014 10:00", "Tue Apr 01 2014", "-5", "1e9", "12:00"]) expect(parseTimestamp(bad), bad).toBeUndefined();
  });

  it("reads numbers; an empty cell is an absent metric, anything else not a number is NaN", () => {
    expect(parseMetric("")).toBeUndefined();
    expect(parseMetric("42")).toBe(42);
    expect(parseMetric("-0.5")).toBe(-0.5);
    expect(parseMetric(".5")).toBe(0.5);
    expect(parseMetric("1e3")).toBe(1000);
    expect(parseMetric("0.06453452400000001")).toBe(0.06453452400000001);
    for (const bad of ["abc", "0x10", "1,5", "NaN", "Infinity", "1e999", "1 2"]) expect(parseMetric(bad), bad).toBeNaN();
  });

  it("splits lines with RFC 4180 quotes and keeps empty cells", () => {
    expect(splitCsvLine('a,"b, c","d ""e"""')).toEqual(["a", "b, c", 'd "e"']);
    expect(splitCsvLine("2024-01-01,,3,")).toEqual(["2024-01-01", "", "3", ""]);
    expect(splitCsvLine(' "x" , 1 ')).toEqual(["x", "1"]);
    expect(splitCsvLine("")).toEqual([""]);
  });

  it("lays out the header: the first column or --time-column, the others or --metrics", () => {
    const header = ["value", "time", "temp", "rpm"];
    expect(layoutOf(header, undefined, undefined)).toEqual({ time: 0, width: 4, metrics: [{ name: "time", index: 1 }, { name: "temp", index: 2 }, { name: "rpm", index: 3 }] });
    expect(layoutOf(header, "time", undefined).metrics.map((m) => m.name)).toEqual(["value", "temp", "rpm"]);
    expect(layoutOf(header, "time", ["rpm", "temp"])).toEqual({ time: 1, width: 4, metrics: [{ name: "rpm", index: 3 }, { name: "temp", index: 2 }] });
    expect(() => layoutOf(header, "ts", undefined)).toThrow(/no column named "ts"/);
    expect(() => layoutOf(header, "time", ["pressure"])).toThrow(/no metric column named "pressure"/);
    expect(() => layoutOf(header, "time", ["time"])).toThrow(/no metric column named "time"/);
    expect(() => layoutOf(["ts"], undefined, undefined)).toThrow(/only the timestamp/);
  });
});
