import { describe, expect, it } from "vitest";
import { TEP_VARIABLES } from "./parse.js";
import type { TepSamples } from "./parse.js";
import { symmetricEigen, trainPcaMonitor } from "./pca.js";

/** `n` samples whose 52 variables all follow one latent signal (plus small noise); `broken` decouples variable 0 from `from` on. */
function related(n: number, seed: number, broken = 0, from = n): TepSamples {
  let x = seed;
  const rnd = () => ((x = (x * 48271) % 2147483647) / 2147483647) - 0.5;
  const values = new Float64Array(n * TEP_VARIABLES);
  for (let s = 0; s < n; s++) {
    const latent = 4 * rnd();
    for (let v = 0; v < TEP_VARIABLES; v++) values[s * TEP_VARIABLES + v] = (v === 0 && s >= from ? -broken : 1) * latent + 0.1 * rnd();
  }
  return { samples: n, values, transposed: false };
}

describe("PCA baseline", () => {
  it("decomposes a symmetric matrix: eigenvalues descending, A v = λ v", () => {
    const a = Float64Array.from([4, 1, 0, 1, 3, 1, 0, 1, 2]);
    const { values, vecs } = symmetricEigen(a, 3);
    expect(values[0]!).toBeGreaterThanOrEqual(values[1]!);
    expect(values[1]!).toBeGreaterThanOrEqual(values[2]!);
    expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(9, 10);
    for (let k = 0; k < 3; k++) {
      for (let i = 0; i < 3; i++) {
        let av = 0;
        for (let j = 0; j < 3; j++) av += a[i * 3 + j]! * vecs[j * 3 + k]!;
        expect(av).toBeCloseTo(values[k]! * vecs[i * 3 + k]!, 9);
      }
    }
  });

  it("flags a broken relation by Q while the variable stays in its range", () => {
    const m = trainPcaMonitor(related(400, 7), 1);
    expect(m.components).toBe(1);
    const test = related(200, 13, 1, 100); // variable 0 flips sign: same range, relation broken
    const { q } = m.statistics(test);
    let before = 0;
    let after = 0;
    for (let s = 0; s < 200; s++) (s < 100 ? (x: number) => (before += x) : (x: number) => (after += x))(q[s]! > m.qLimit ? 1 : 0);
    expect(before).toBeLessThan(10);
    expect(after).toBeGreaterThan(80);
  });
});
