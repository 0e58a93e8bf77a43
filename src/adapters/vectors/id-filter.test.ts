import { describe, expect, it } from "vitest";
import { vectorId } from "../../domain/vector-ids.js";
import { IdFilter } from "./id-filter.js";

describe("IdFilter", () => {
  it("never says absent for an id it was given, and rarely says present for others", () => {
    const f = new IdFilter(100_000);
    for (let i = 0; i < 100_000; i++) f.add(vectorId("in", i));
    for (let i = 0; i < 100_000; i++) expect(f.mayHave(vectorId("in", i))).toBe(true);
    let falsePositives = 0;
    for (let i = 0; i < 200_000; i++) if (f.mayHave(vectorId("out", i))) falsePositives++;
    // Designed for ~6 per million at capacity.
    expect(falsePositives).toBeLessThan(20);
    expect(f.size).toBe(100_000);
  });
});
