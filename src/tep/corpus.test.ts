import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultTepDir, gitBlobId, readTepCorpus, readTepText, testFileName, TEP_ONSET } from "./corpus.js";

/** Upstream blob ids listed in the fixture's README: `- \`d01_te.dat.gz\`: \`<id>\`, …`. */
function readmeIds(): Map<string, string> {
  const text = readFileSync(join(defaultTepDir(), "README.md"), "utf8");
  return new Map([...text.matchAll(/^- `(d\d\d(?:_te)?\.dat)\.gz`: `([0-9a-f]{40})`/gm)].map((m) => [m[1]!, m[2]!]));
}

describe("TEP fixture", () => {
  it("reads d00.dat as 500 samples of 52 (stored transposed) and a test run as 960 × 52", () => {
    const c = readTepCorpus(defaultTepDir(), [0, 1]);
    expect(c.training.samples).toBe(500);
    expect(c.training.transposed).toBe(true);
    expect(c.training.values).toHaveLength(500 * 52);
    expect(c.runs.map((r) => [r.fault, r.file, r.data.samples, r.data.transposed])).toEqual([
      [0, "d00_te.dat", 960, false],
      [1, "d01_te.dat", 960, false],
    ]);
    // First values of upstream's files: d00.dat's first line is XMEAS(1) over time, d01_te's first line a sample.
    expect(c.training.values[0]).toBeCloseTo(0.24987, 6);
    expect(c.training.values[52]).toBeCloseTo(0.25118, 6);
    expect(c.runs[1]!.data.values[1]).toBeCloseTo(3657.2, 6);
    expect(TEP_ONSET).toBe(160);
  });

  it("is byte for byte upstream's data: every file's git blob id is the one in the README", () => {
    const ids = readmeIds();
    expect(ids.size).toBe(23);
    for (const [name, id] of ids) expect([name, gitBlobId(Buffer.from(readTepText(defaultTepDir(), name), "latin1"))]).toEqual([name, id]);
  });

  it("names test files by fault and fails clearly on a missing one", () => {
    expect(testFileName(7)).toBe("d07_te.dat");
    expect(() => readTepText(defaultTepDir(), "d99_te.dat")).toThrow(/neither/);
  });
});
