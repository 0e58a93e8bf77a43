import { describe, expect, it } from "vitest";
import { NAB_PROFILES, probationLength, scaledSigmoid, scoreCorpus, scoreFileAt, sweepFile, sweepThresholds } from "./sweeper.js";

const std = NAB_PROFILES[0]!.costMatrix;
const maxTp = scaledSigmoid(-1);

/** A 100-row file, probation 15 rows, one window [40, 59]. */
const win = [{ start: 40, end: 59 }];
const file = (detect: number[]) => {
  const scores = new Float64Array(100);
  for (const i of detect) scores[i] = 1;
  return { swept: sweepFile(100, win), scores };
};

describe("scaledSigmoid", () => {
  it("matches the published anchor points", () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(1)).toBeCloseTo(-0.98661, 5);
    expect(scaledSigmoid(3)).toBe(-1);
  });
});

describe("probationLength", () => {
  it("is 15% of the file, capped at 750 rows", () => {
    expect(probationLength(100)).toBe(15);
    expect(probationLength(4032)).toBe(604);
    expect(probationLength(15831)).toBe(750);
  });
});

describe("per-file scoring", () => {
  it("credits a detection at the left edge of a window with the full TP weight", () => {
    expect(scoreFileAt(file([40]), std, 0.5).score).toBeCloseTo(1, 10);
  });

  it("credits a later detection less, by the scaled sigmoid of its position", () => {
    // row 50: position -(59 - 50 + 1) / 20 = -0.5
    expect(scoreFileAt(file([50]), std, 0.5).score).toBeCloseTo(scaledSigmoid(-0.5) / maxTp, 10);
    expect(scoreFileAt(file([59]), std, 0.5).score).toBeLessThan(scoreFileAt(file([50]), std, 0.5).score);
  });

  it("counts only the first detection inside a window", () => {
    expect(scoreFileAt(file([45, 46, 50, 58]), std, 0.5).score).toBeCloseTo(scoreFileAt(file([45]), std, 0.5).score, 10);
  });

  it("charges a missed window −fnWeight", () => {
    expect(scoreFileAt(file([]), std, 0.5).score).toBe(-1);
    expect(scoreFileAt(file([]), NAB_PROFILES[2]!.costMatrix, 0.5).score).toBe(-2);
  });

  it("charges a false positive before any window the full FP weight", () => {
    expect(scoreFileAt(file([20, 40]), std, 0.5).score).toBeCloseTo(1 - 0.11, 10);
  });

  it("charges a false positive just after a window almost nothing, and more further away", () => {
    const near = scoreFileAt(file([40, 60]), std, 0.5).score - 1;
    const far = scoreFileAt(file([40, 99]), std, 0.5).score - 1;
    expect(near).toBeLessThan(0);
    expect(near).toBeGreaterThan(-0.02);
    // row 99: |59 - 99| / 19 > 2 window lengths past the edge
    expect(far).toBeCloseTo(0.11 * scaledSigmoid(40 / 19), 10);
  });

  it("ignores detections in the probationary period", () => {
    expect(scoreFileAt(file([3, 14, 40]), std, 0.5).score).toBeCloseTo(1, 10);
  });
});

describe("corpus threshold optimisation", () => {
  it("gives 0 for the null detector and 100 for a perfect one", () => {
    const nothing = scoreCorpus([file([])]);
    expect(nothing.map((r) => r.score)).toEqual([0, 0, 0]);
    const perfect = scoreCorpus([file([40])]);
    for (const r of perfect) expect(r.score).toBeCloseTo(100, 10);
  });

  it("picks the threshold that maximises the corpus score, ties to the higher threshold", () => {
    const swept = sweepFile(100, win);
    const scores = new Float64Array(100);
    scores[40] = 0.9; // TP at the left edge
    scores[20] = 0.5; // FP before the window
    scores[21] = 0.5;
    const sweep = sweepThresholds([{ swept, scores }], std);
    expect(sweep[0]!.threshold).toBe(Number.POSITIVE_INFINITY);
    expect(sweep.map((s) => s.threshold)).toEqual([Infinity, 0.9, 0.5, 0]);
    const [r] = scoreCorpus([{ swept, scores }]);
    expect(r!.threshold).toBe(0.9);
    expect(r!.raw).toBeCloseTo(1, 10);
    expect(r!.best).toMatchObject({ tp: 1, fp: 0 });
  });

  it("agrees with the per-file score at the chosen threshold", () => {
    const a = file([30, 50, 70]);
    const b = file([41, 90]);
    const [r] = scoreCorpus([a, b]);
    const sum = scoreFileAt(a, std, r!.threshold).score + scoreFileAt(b, std, r!.threshold).score;
    expect(r!.raw).toBeCloseTo(sum, 10);
  });
});
