import { describe, expect, it } from "vitest";
import { formatReasons, reasonsFromJson, reasonsToJson } from "./anomaly-reasons.js";

describe("anomaly reasons", () => {
  it("round-trips through the stored JSON, scores rounded to 4 digits", () => {
    const json = reasonsToJson([
      { metric: "temp", term: "range", score: 0.987654 },
      { metric: "pressure", term: "joint", score: 0.91 },
    ]);
    expect(reasonsFromJson(json)).toEqual([
      { metric: "temp", term: "range", score: 0.9877 },
      { metric: "pressure", term: "joint", score: 0.91 },
    ]);
  });

  it("stores none as an empty string and reads old or unreadable rows as none", () => {
    expect(reasonsToJson([])).toBe("");
    expect(reasonsToJson(undefined)).toBe("");
    expect(reasonsFromJson("")).toEqual([]);
    expect(reasonsFromJson("{not json")).toEqual([]);
    expect(reasonsFromJson('{"metric":"a"}')).toEqual([]);
    expect(reasonsFromJson('[{"metric":"a","term":"bogus","score":1},{"metric":"b","term":"season","score":0.95}]')).toEqual([{ metric: "b", term: "season", score: 0.95 }]);
  });

  it("formats reasons for a prompt", () => {
    expect(formatReasons([{ metric: "temp", term: "range", score: 0.97 }, { metric: "rpm", term: "joint", score: 0.912 }])).toBe("temp: range 0.97; rpm: joint 0.91");
  });
});
