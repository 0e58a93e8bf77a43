import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultNabCorpus, defaultNabReference, readNabCorpus, readResults } from "./corpus.js";
import { scoreCorpus } from "./sweeper.js";

// The corpus and NAB's published Windowed Gaussian output are carried in the repository
// (test/fixtures/nab, gzipped tar archives read in memory). NAB_DIR points to an unpacked NAB
// checkout instead; its reference is results/windowedGaussian/ (NAB's layout), else
// reference/windowedGaussian-results.tar.gz, else the archive carried here.
const NAB_DIR = process.env["NAB_DIR"];
const CORPUS = NAB_DIR ?? defaultNabCorpus();
const REFERENCE =
  NAB_DIR === undefined
    ? defaultNabReference()
    : ([join(NAB_DIR, "results", "windowedGaussian"), join(NAB_DIR, "reference", "windowedGaussian-results.tar.gz")].find((p) => existsSync(p)) ??
      defaultNabReference());

describe("NAB scorer against NAB's published Windowed Gaussian output", () => {
  it("finds the NAB corpus", () => {
    expect(existsSync(CORPUS), `NAB corpus not found: ${CORPUS} is missing (test/fixtures/nab, or NAB_DIR)`).toBe(true);
    expect(existsSync(REFERENCE), `NAB reference output not found: ${REFERENCE} is missing`).toBe(true);
  });

  it("gives 39.65 / 20.87 / 47.41 at threshold 1.0", () => {
    const corpus = readNabCorpus(CORPUS);
    expect(corpus).toHaveLength(58);
    expect(corpus.reduce((a, f) => a + f.windows.length, 0)).toBe(116);
    const reference = readResults(REFERENCE, "windowedGaussian", corpus);
    const files = corpus.map((f, i) => ({ swept: f.swept, scores: reference[i]! }));
    const res = scoreCorpus(files);
    expect(res.map((r) => r.profile)).toEqual(["standard", "reward_low_FP_rate", "reward_low_FN_rate"]);
    expect(res.map((r) => r.score.toFixed(2))).toEqual(["39.65", "20.87", "47.41"]);
    expect(res.map((r) => r.threshold)).toEqual([1, 1, 1]);
  }, 120_000); // reads and parses the whole corpus: ~5 s alone, far more on a loaded machine
});
