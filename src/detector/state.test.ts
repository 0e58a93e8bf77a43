import { describe, expect, it } from "vitest";
import { createDetector, restoreDetector } from "./detector.js";
import { defaultDetectorParams, PARAM_KEYS } from "./params.js";
import { NUM_SCALARS, STATE_VERSION, stateLayout } from "./state.js";
import { SAVED_SCALARS_V2 } from "./kernel.js";

const xs = Array.from({ length: 3000 }, (_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + ((i * 7919) % 13) / 6);

/** Parameters each older version stored (the newer ones are appended after them). */
const OLD_PARAMS = { 1: PARAM_KEYS.length - 19, 2: PARAM_KEYS.length - 12 } as const;

/**
 * Rewrites a current state as an older version wrote it: its parameters only, its scalar slots
 * (`kept` of ours; the rest of its slots 0), the same rings.
 */
function asVersion(bytes: Uint8Array, version: 1 | 2, kept: number): Uint8Array {
  const p = defaultDetectorParams;
  const cur = stateLayout(p, STATE_VERSION);
  const old = stateLayout(p, version);
  const src = new Float64Array(bytes.buffer, bytes.byteOffset, cur.header);
  const out = new Uint8Array(old.total);
  const head = new Float64Array(out.buffer, 0, old.header);
  const params = OLD_PARAMS[version];
  head.set(src.subarray(0, 3 + params));
  head[1] = version;
  head.set(src.subarray(3 + PARAM_KEYS.length, 3 + PARAM_KEYS.length + kept), 3 + params);
  out.set(bytes.subarray(cur.histOff), old.histOff);
  return out;
}

describe("detector state format", () => {
  it(`writes version ${STATE_VERSION} with ${NUM_SCALARS} scalar slots and the documented size`, () => {
    const d = createDetector();
    const bytes = d.saveState();
    expect(new Float64Array(bytes.buffer, 0, 2)[1]).toBe(STATE_VERSION);
    expect(bytes.byteLength).toBe(stateLayout(d.params).total);
    expect(bytes.byteLength).toBe((3 + PARAM_KEYS.length + NUM_SCALARS) * 8 + d.params.historyLength * 4 + d.params.distanceMemory * 4);
    expect(bytes.byteLength).toBeLessThanOrEqual(4096);
  });

  it("restores version-1 states: default range parameters, range rebuilt from the history", () => {
    const a = createDetector();
    for (let i = 0; i < 2000; i++) a.update(xs[i]!, i);
    const old = asVersion(a.saveState(), 1, 15); // version 1: the scalars before the range
    expect(old.byteLength).toBe(a.stateBytes() - 19 * 8 - (NUM_SCALARS - 18) * 8);
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

  it("restores version-2 states: drift-gate parameters at their defaults, its slots learn afresh from 0", () => {
    const a = createDetector();
    for (let i = 0; i < 2000; i++) a.update(xs[i]!, i * 300_000);
    const saved = a.saveState();
    const old = asVersion(saved, 2, SAVED_SCALARS_V2);
    expect(old.byteLength).toBe(a.stateBytes() - 12 * 8 - (NUM_SCALARS - 24) * 8);
    const b = restoreDetector(old);
    expect(b.params).toEqual(defaultDetectorParams);
    expect(b.count).toBe(2000);
    // Everything version 2 kept is restored: re-saving gives the same bytes except the gate's slots.
    const scalars = 3 + PARAM_KEYS.length;
    const again = new Float64Array(b.saveState().buffer, 0, scalars + NUM_SCALARS);
    const orig = new Float64Array(saved.buffer, 0, scalars + NUM_SCALARS);
    expect(Array.from(again.subarray(0, scalars + SAVED_SCALARS_V2))).toEqual(Array.from(orig.subarray(0, scalars + SAVED_SCALARS_V2)));
    expect(Array.from(again.subarray(scalars + SAVED_SCALARS_V2, scalars + NUM_SCALARS)).every((v) => v === 0)).toBe(true);
    // The discord's state is intact: away from range novelty, both score the same.
    const rest = xs.slice(2000);
    const sa = rest.map((x, i) => a.update(x, (2000 + i) * 300_000));
    const sb = rest.map((x, i) => b.update(x, (2000 + i) * 300_000));
    const discordOnly = (s: number[]) => s.map((v) => (v === 1 || v === defaultDetectorParams.rangeWeakScore ? -1 : v));
    const da = discordOnly(sa);
    const db = discordOnly(sb);
    const both = da.map((v, i) => (v >= 0 && db[i]! >= 0 ? 1 : 0)).reduce((s: number, v) => s + v, 0);
    expect(both).toBeGreaterThan(900);
    for (let i = 0; i < da.length; i++) if (da[i]! >= 0 && db[i]! >= 0) expect(db[i]).toBe(da[i]);
  });

  it("rejects unknown versions naming the accepted ones", () => {
    const bytes = createDetector().saveState();
    new Float64Array(bytes.buffer, 0, 2)[1] = 4;
    expect(() => restoreDetector(bytes)).toThrow(/version 4, expected \d+ version 1 to 3/);
  });
});
