import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseResultsCsv, readNabCorpus } from "./corpus.js";
import { scoreCorpus } from "./sweeper.js";
import { readTar } from "./tar.js";

// The corpus lives in the shared folder beside the repository (../shared/datasets/nab), or NAB_DIR.
const NAB_DIR = process.env["NAB_DIR"] ?? fileURLToPath(new URL("../../../shared/datasets/nab", import.meta.url));
const REFERENCE = join(NAB_DIR, "reference", "windowedGaussian-results.tar.gz");

describe("NAB scorer against NAB's published Windowed Gaussian output", () => {
  it("finds the NAB corpus", () => {
    expect(existsSync(REFERENCE), `NAB corpus not found: ${REFERENCE} is missing (set NAB_DIR to the corpus folder)`).toBe(true);
  });

  it("gives 39.65 / 20.87 / 47.41 at threshold 1.0", () => {
    const corpus = readNabCorpus(NAB_DIR);
    expect(corpus).toHaveLength(58);
    expect(corpus.reduce((a, f) => a + f.windows.length, 0)).toBe(116);
    const tar = readTar(readFileSync(join(NAB_DIR, "reference", "windowedGaussian-results.tar.gz")));
    const dec = new TextDecoder();
    const files = corpus.map((f) => {
      const body = tar.get(`windowedGaussian/${f.category}/windowedGaussian_${f.name}.csv`);
      if (body === undefined) throw new Error(`reference lacks ${f.relPath}`);
      return { swept: f.swept, scores: parseResultsCsv(dec.decode(body), f) };
    });
    const res = scoreCorpus(files);
    expect(res.map((r) => r.profile)).toEqual(["standard", "reward_low_FP_rate", "reward_low_FN_rate"]);
    expect(res.map((r) => r.score.toFixed(2))).toEqual(["39.65", "20.87", "47.41"]);
    expect(res.map((r) => r.threshold)).toEqual([1, 1, 1]);
  }, 120_000); // reads and parses the whole corpus: ~5 s alone, far more on a loaded machine
});
