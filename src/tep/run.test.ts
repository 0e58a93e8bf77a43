import { describe, expect, it } from "vitest";
import { TEP_VARIABLES } from "./parse.js";
import type { TepSamples } from "./parse.js";
import { scoreTepRun, termsOf } from "./run.js";
import { formatTepTable, runTepBenchmark } from "./report.js";

/** `n` samples of 52 variables: deterministic noise around 10·v, plus `step` on xmeas_1 from `from` on. */
function samples(n: number, seed: number, step = 0, from = n): TepSamples {
  let x = seed;
  const rnd = () => ((x = (x * 48271) % 2147483647) / 2147483647) - 0.5;
  const values = new Float64Array(n * TEP_VARIABLES);
  for (let s = 0; s < n; s++) for (let v = 0; v < TEP_VARIABLES; v++) values[s * TEP_VARIABLES + v] = 10 * v + rnd() + (v === 0 && s >= from ? step : 0);
  return { samples: n, values, transposed: false };
}

describe("scoreTepRun", () => {
  it("feeds the training run then the test run through the device actor and scores the test samples", () => {
    const r = scoreTepRun(samples(200, 3), samples(120, 5, 40, 60));
    expect(r.device).toHaveLength(120);
    expect(r.perMetric).toHaveLength(120);
    expect(r.terms).toHaveLength(120);
    for (let i = 0; i < 120; i++) expect(r.perMetric[i]! >= 0 && r.perMetric[i]! <= 1 && r.device[i]! >= 0 && r.device[i]! <= 1).toBe(true);
    // A 40σ step on xmeas_1 at sample 60 is flagged right away, by range novelty.
    const first = [...r.device].findIndex((s) => s >= 0.9);
    expect(first).toBe(60);
    expect(r.terms[60]).toContain("range");
    expect(r.snapshotBytes).toBeGreaterThan(0);
  });

  it("is deterministic", () => {
    const a = scoreTepRun(samples(150, 3), samples(80, 9, 30, 40));
    const b = scoreTepRun(samples(150, 3), samples(80, 9, 30, 40));
    expect([...a.device]).toEqual([...b.device]);
  });

  it("reads an anomaly's terms defensively", () => {
    expect(termsOf(undefined)).toBe("");
    expect(termsOf({ reasons: "x" })).toBe("");
    expect(termsOf({ reasons: [{ term: "range" }, { term: "joint" }, { term: "range" }, null] })).toBe("joint+range");
  });

  it("builds the benchmark table from a corpus", () => {
    const corpus = { dir: "mem", training: samples(200, 3), runs: [0, 1].map((fault) => ({ fault, file: `d0${fault}_te.dat`, data: samples(200, 11 + fault, fault === 1 ? 40 : 0, 160) })) };
    let t = 0;
    const rows = runTepBenchmark({ corpus, clock: () => (t += 1) });
    expect(rows.map((r) => r.fault)).toEqual([0, 1]);
    expect(rows[1]!.device.detected).toBe(true);
    expect(rows[1]!.device.delaySamples).toBe(1);
    const lines = formatTepTable(rows);
    expect(lines.some((l) => l.startsWith("IDV 1 |"))).toBe(true);
    expect(lines.some((l) => l.startsWith("d00_te (normal"))).toBe(true);
  });
});
