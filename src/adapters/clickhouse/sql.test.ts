import { describe, expect, it } from "vitest";
import { sqlMs, sqlString } from "./sql.js";

describe("sqlString", () => {
  it("quotes and escapes backslash, quote and NUL; everything else as is", () => {
    expect(sqlString("pump-17")).toBe("'pump-17'");
    expect(sqlString("")).toBe("''");
    expect(sqlString("it's")).toBe("'it\\'s'");
    expect(sqlString("a\\b")).toBe("'a\\\\b'");
    expect(sqlString("\\'")).toBe("'\\\\\\''");
    expect(sqlString("x\0y")).toBe("'x\\0y'");
    expect(sqlString("line\nnext\ttab ünï 😀")).toBe("'line\nnext\ttab ünï 😀'");
  });

  it("an escaped value cannot end the literal early", () => {
    for (const s of ["'; DROP TABLE readings; --", "\\'; DROP TABLE x --", "'\\", "\\"]) {
      const lit = sqlString(s);
      // Inside the quotes every quote is escaped by an odd run of backslashes.
      const body = lit.slice(1, -1);
      expect(lit.startsWith("'") && lit.endsWith("'")).toBe(true);
      expect(body.replace(/\\./g, "")).not.toContain("'");
      expect(body.replace(/\\./g, "")).not.toContain("\\");
    }
  });

  it("rejects what it cannot send unchanged", () => {
    expect(() => sqlString("bad \uD800 surrogate")).toThrow(RangeError);
    expect(() => sqlString("\uDC00")).toThrow(RangeError);
    expect(sqlString("\uD83D\uDE00")).toBe("'😀'");
    expect(() => sqlString(42 as unknown as string)).toThrow(TypeError);
  });
});

describe("sqlMs", () => {
  it("takes whole ms only", () => {
    expect(sqlMs(1_700_000_000_000)).toBe("1700000000000");
    expect(sqlMs(-5)).toBe("-5");
    expect(() => sqlMs(1.5)).toThrow(RangeError);
    expect(() => sqlMs(Number.NaN)).toThrow(RangeError);
  });
});
