import { describe, expect, it } from "vitest";
import { createDetector, restoreDetector } from "./detector.js";
import { defaultDetectorParams, PARAM_KEYS } from "./params.js";
import { NUM_SCALARS, STATE_VERSION, stateLayout } from "./state.js";

const xs = Array.from({ length: 3000 }, (_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + ((i * 7919) % 13) / 6);

/** Rewrites a current state as version 1 wrote it: no range parameters, range slots empty. */
function asVersion1(bytes: Uint8Array): Uint8Array {
  const p = defaultDetectorParams;
  const v2 = stateLayout(p, 2);
  const v1 = stateLayout(p, 1);
  const src = new Float64Array(bytes.buffer, bytes.byteOffset, v2.header);
  const out = new Uint8Array(v1.total); // version 1: 18 scalar slots
  const head = new Float64Array(out.buffer, 0, v1.header);
  const kept = PARAM_KEYS.length - 7;
  head.set(src.subarray(0, 3 + kept));
  head[1] = 1;
  head.set(src.subarray(3 + PARAM_KEYS.length, 3 + PARAM_KEYS.length + 15), 3 + kept); // scalars before the range
  out.set(bytes.subarray(v2.histOff), v1.histOff);
  return out;
}

describe("detector state format", () => {
  it(`writes version ${STATE_VERSION} with ${NUM_SCALARS} scalar slots and the documented size`, () => {
    const d = createDetector();
    const bytes = d.saveState();
    expect(new Float64Array(bytes.buffer, 0, 2)[1]).toBe(STATE_VERSION);
    expect(bytes.byteLength).toBe(stateLayout(d.params).total);
    expect(bytes.byteLength).toBe((3 + PARAM_KEYS.length + NUM_SCALARS) * 8 + d.params.historyLength * 4 + d.params.distanceMemory * 4);
  });

  it("restores version-1 states: default range parameters, range rebuilt from the history", () => {
    const a = createDetector();
    for (let i = 0; i < 2000; i++) a.update(xs[i]!, i);
    const old = asVersion1(a.saveState());
    expect(old.byteLength).toBe(a.stateBytes() - 7 * 8 - 6 * 8);
    const b = restoreDetector(old);
    expect(b.params).toEqual(defaultDetectorParams);
    expect(b.count).toBe(2000);
    // Same data, same regime: the restored detector raises no range alarm the original would not.
    const rest = xs.slice(2000);
    const sa = rest.map((x, i) => a.update(x, i));
    const sb = rest.map((x, i) => b.update(x, i));
    expect(sb.filter((s) => s === 1).length).toBeLessThanOrEqual(sa.filter((s) => s === 1).length);
    expect(Math.max(...sb)).toBeLessThanOrEqual(1);
  });

  it("rejects unknown versions naming the accepted ones", () => {
    const bytes = createDetector().saveState();
    new Float64Array(bytes.buffer, 0, 2)[1] = 3;
    expect(() => restoreDetector(bytes)).toThrow(/version 3, expected \d+ version 1 or 2/);
  });
});
