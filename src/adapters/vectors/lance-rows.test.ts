import { describe, expect, it } from "vitest";
import { idsIn, sqlString, whereClause } from "./lance-rows.js";

describe("embedded store SQL", () => {
  it("quotes strings by doubling single quotes (backslashes are literal in Lance's SQL)", () => {
    expect(sqlString("plain")).toBe("'plain'");
    expect(sqlString("x' OR '1'='1")).toBe("'x'' OR ''1''=''1'");
    expect(sqlString("a\\'b")).toBe("'a\\''b'");
  });
  it("builds the filter's clause from every field set, escaped", () => {
    expect(whereClause(undefined)).toBeUndefined();
    expect(whereClause({})).toBeUndefined();
    expect(whereClause({ deviceId: "o'neil", excludeDeviceId: "b", kinds: ["explanation", "log"], fromMs: 10, toMs: 20 })).toBe(
      "device_id = 'o''neil' AND device_id != 'b' AND kind IN ('explanation', 'log') AND ts_ms >= 10 AND ts_ms < 20",
    );
    expect(whereClause({ kinds: [] })).toBe("false");
    expect(idsIn(["a", "b'"])).toBe("id IN ('a', 'b''')");
  });
});
