import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { detectorModel, detectorUpdate, initScalars, S_MATCH, S_STEPS, S_TERM, SAVED_SCALARS, SCALAR_SLOTS, TERM_DISCORD, TERM_LEVEL, TERM_NONE, TERM_RANGE, TERM_SEASON } from "./kernel.js";
import { resolveDetectorParams } from "./params.js";
import type { DetectorParams } from "./params.js";

/** Runs the kernel over xs (timestamps i·stepMs); returns each reading's score and S_TERM. */
function run(xs: readonly number[], stepMs: number, params: Partial<DetectorParams> = {}): { score: number; term: number }[] {
  const p = resolveDetectorParams(params);
  const m = detectorModel(p);
  const f64 = new Float64Array(SCALAR_SLOTS);
  const f32 = new Float32Array(p.historyLength + p.distanceMemory);
  initScalars(f64, 0);
  return xs.map((x, i) => {
    const score = detectorUpdate(m, f64, 0, f32, 0, p.historyLength, x, i * stepMs);
    return { score, term: f64[S_TERM]! };
  });
}
const noise = (i: number) => (((i * 7919) % 1009) / 1009) * 2 - 1;

describe("S_TERM (why a reading scored)", () => {
  it("is a diagnostic slot after the saved ones", () => {
    expect(S_TERM).toBeGreaterThanOrEqual(SAVED_SCALARS);
    expect(S_TERM).toBeLessThan(SCALAR_SLOTS);
    expect(new Set([TERM_NONE, TERM_DISCORD, TERM_SEASON, TERM_RANGE, TERM_LEVEL]).size).toBe(5);
  });

  it("is TERM_NONE exactly when the score is 0, and names range novelty for a first-ever extreme", () => {
    const xs = Array.from({ length: 1500 }, (_, i) => Math.sin((2 * Math.PI * i) / 100) + 0.1 * noise(i) + (i === 1401 ? 10 : 0));
    const r = run(xs, 1000);
    for (const { score, term } of r) expect(term === TERM_NONE).toBe(score === 0);
    expect(r[1401]).toEqual({ score: 1, term: TERM_RANGE });
    expect(run([Number.NaN], 1000)[0]).toEqual({ score: 0, term: TERM_NONE });
  });

  it("names the discord for a new shape inside the range", () => {
    // A sine whose cycle at 1400 is replaced by a flat stretch at its middle: in range, new shape.
    const xs = Array.from({ length: 1600 }, (_, i) => (i >= 1400 && i < 1450 ? 0 : Math.sin((2 * Math.PI * i) / 100)) + 0.05 * noise(i));
    const r = run(xs, 1000).slice(1400, 1460);
    const hit = r.find((x) => x.score >= 0.658);
    expect(hit?.term).toBe(TERM_DISCORD);
  });

  it("names the seasonal discord for a usual shape at an unusual time of day", () => {
    const day = 288;
    const xs = Array.from({ length: 7 * day }, (_, i) => {
      const t = i % day;
      const plateau = Math.floor(i / day) === 6 ? t >= 168 && t < 192 : t >= 96 && t < 120;
      return (plateau ? 10 : 0) + (0.2 * ((i * 7919) % 13)) / 13;
    });
    const r = run(xs, 300_000).slice(6 * day);
    expect(r.some((x) => x.term === TERM_SEASON && x.score >= 0.658)).toBe(true);
  });

  it("names the level shift for a step no single reading of which leaves the range", () => {
    // Occasional ±6 blips before the step widen the range beyond anything the step reaches.
    const xs = Array.from({ length: 3000 }, (_, i) => noise(i) + (i < 2000 && i % 97 === 50 ? (i % 2 === 0 ? 6 : -6) : 0) + (i >= 2000 ? 3 : 0));
    expect(Math.max(...xs.slice(2000))).toBeLessThan(Math.max(...xs.slice(0, 2000)));
    const r = run(xs, 1000);
    const first = r.findIndex((x, i) => i >= 2000 && x.score >= 0.9);
    expect(first).toBeGreaterThan(0);
    expect(r[first]!.term).toBe(TERM_LEVEL);
  });
});

describe("the nearest-neighbour search", () => {
  // Every step, the kernel's neighbour (S_MATCH) against all candidates summed in full: its
  // distance is the least, and of equal ones it is the seed (the last neighbour's successor) or
  // else the oldest. Short rings wrap often; window lengths below, at and above the four terms
  // summed before the first test; quantised values make ties common.
  it("finds the exact nearest subsequence in the ring, wrapping or not, for any window length", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 9 }), fc.integer({ min: 0, max: 4 }), fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 60, maxLength: 260 }), (L, ez, xs) => {
        const p = resolveDetectorParams({ downsample: 1, windowLength: L, historyLength: 40, exclusionZone: ez, minHistory: 2, warmup: 1 });
        const H = p.historyLength;
        const m = detectorModel(p);
        const f64 = new Float64Array(SCALAR_SLOTS);
        const f32 = new Float32Array(H + p.distanceMemory);
        initScalars(f64, 0);
        let checked = 0;
        xs.forEach((x, i) => {
          const seed = f64[S_MATCH]! + 1;
          detectorUpdate(m, f64, 0, f32, 0, H, x / 2, i * 1000);
          const steps = f64[S_STEPS]!;
          if (steps < L + p.minHistory) return;
          const avail = Math.min(steps, H);
          const cur0 = steps - L;
          const first = steps - avail;
          const last = avail - L + 1 - p.exclusionZone;
          const at = (abs: number) => f32[abs % H]!;
          const dist = (abs: number) => {
            let d = 0;
            for (let j = 0; j < L; j++) d += (at(abs + j) - at(cur0 + j)) ** 2;
            return d;
          };
          const got = f64[S_MATCH]!;
          if (last <= 0) {
            expect(got).toBe(-1); // no candidate outside the exclusion zone yet
            return;
          }
          const ds = Array.from({ length: last }, (_, k) => dist(first + k));
          const min = Math.min(...ds);
          expect(ds[got - first]).toBe(min);
          const expected = seed >= first && seed < first + last && ds[seed - first] === min ? seed : first + ds.indexOf(min);
          expect(got).toBe(expected);
          checked++;
        });
        expect(checked).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
  });
});
