import { describe, expect, it } from "vitest";
import { formatAgo, formatBytes, formatConfigValue, formatDuration, formatInt, formatMicros, formatNumber, formatRate, formatScore, formatTime, isoTime, jsonToYamlInput, truncate } from "./format.js";

describe("format", () => {
  it("integers with thousands separators, bigint too", () => {
    expect(formatInt(0)).toBe("0");
    expect(formatInt(1234567)).toBe("1,234,567");
    expect(formatInt(-1234)).toBe("-1,234");
    expect(formatInt(12345678901234n)).toBe("12,345,678,901,234");
    expect(formatInt(Number.NaN)).toBe("–");
  });

  it("numbers compact with 3 significant digits", () => {
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(21.456)).toBe("21.5");
    expect(formatNumber(0.0123)).toBe("0.0123");
    expect(formatNumber(0.00001)).toBe("1.0e-5");
    expect(formatNumber(12345)).toBe("12,345");
    expect(formatNumber(2_500_000)).toBe("2.50 M");
    expect(formatNumber(7_100_000_000n)).toBe("7.10 G");
    expect(formatRate(12.34, "s")).toBe("12.3/s");
    expect(formatScore(0.9349)).toBe("0.93");
  });

  it("durations and micros", () => {
    expect(formatDuration(0)).toBe("0 s");
    expect(formatDuration(45_900)).toBe("45 s");
    expect(formatDuration(12 * 60_000)).toBe("12 min");
    expect(formatDuration(3 * 3600_000 + 20 * 60_000)).toBe("3 h 20 min");
    expect(formatDuration(24 * 3600_000)).toBe("24 h");
    expect(formatDuration(52 * 3600_000)).toBe("2 d 4 h");
    expect(formatDuration(7 * 24 * 3600_000)).toBe("7 d");
    expect(formatMicros(850)).toBe("850 µs");
    expect(formatMicros(12_400)).toBe("12.4 ms");
    expect(formatMicros(1_200_000)).toBe("1.20 s");
    expect(formatMicros(-1)).toBe("–");
  });

  it("relative and absolute times", () => {
    const now = new Date(2024, 4, 1, 13, 4, 5).getTime();
    expect(formatAgo(0, now)).toBe("never");
    expect(formatAgo(now - 500, now)).toBe("just now");
    expect(formatAgo(now - 45_000, now)).toBe("45 s ago");
    expect(formatAgo(now + 120_000, now)).toBe("in 2 min");
    expect(formatAgo(now + 2000, now)).toBe("just now");
    expect(formatTime(now)).toBe("2024-05-01 13:04:05");
    expect(formatTime(now, { nowMs: now + 3600_000 })).toBe("13:04:05");
    expect(formatTime(now, { nowMs: now + 2 * 24 * 3600_000, seconds: false })).toBe("2024-05-01 13:04");
    expect(formatTime(0)).toBe("–");
    expect(isoTime(0)).toBe("");
    expect(isoTime(Date.UTC(2024, 0, 2, 3, 4, 5))).toBe("2024-01-02T03:04:05.000Z");
  });

  it("config values and editor input", () => {
    expect(formatConfigValue('"info"')).toBe("info");
    expect(formatConfigValue("0.9")).toBe("0.9");
    expect(formatConfigValue('{"a":[1,2]}')).toBe('{"a":[1,2]}');
    expect(formatConfigValue("not json")).toBe("not json");
    expect(jsonToYamlInput('"info"')).toBe("info");
    // Strings YAML would read as something else stay quoted.
    expect(jsonToYamlInput('"true"')).toBe('"true"');
    expect(jsonToYamlInput('"12"')).toBe('"12"');
    expect(jsonToYamlInput('"a b"')).toBe('"a b"');
    expect(jsonToYamlInput("[1,2]")).toBe("[1,2]");
  });

  it("bytes and truncation", () => {
    expect(formatBytes(812)).toBe("812 B");
    expect(formatBytes(14_200)).toBe("14.2 kB");
    expect(formatBytes(1_310_000)).toBe("1.31 MB");
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abc", 4)).toBe("abc");
  });
});
