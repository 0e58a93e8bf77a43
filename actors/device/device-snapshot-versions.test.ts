/**
 * Device snapshots of older versions still restore (actors/device/device-snapshot.ts lists them):
 * bytes of each version are made from a current snapshot (fixtures/snapshot-bytes.ts), restored, and
 * the actor goes on as the one that wrote them.
 */
import { describe, expect, it } from "vitest";
import { createDeviceActor } from "./device.actor.js";
import { H_DET, MH, recomputeSums } from "./metric-store.js";
import { SAVED_SCALARS, SAVED_SCALARS_V2 } from "../../src/detector/index.js";
import { fixture, gapLists, reading, sideBySide, sink, span, toV3, toV4, toV7, V1 } from "./fixtures/snapshot-bytes.js";

describe("device snapshots of older versions", () => {
  it("restores a version-1 snapshot and continues exactly like the actor that wrote it", () => {
    const logic = createDeviceActor(V1);
    let b = logic.restore(new Uint8Array(Buffer.from(fixture.snapshot, "base64")), "d1");
    expect(b.hwm).toBe(300);
    expect(b.names).toEqual(["temp", "hum"]);
    const h = sink();
    for (let i = 301; i <= 420; i++) b = logic.receive(b, reading(i), h.ctx);
    expect(h.rows.map((r) => r.metric_scores)).toEqual(fixture.scores.slice(300));
    // ...and ends in the same state as an actor that never went through a snapshot, up to the
    // rounding of the rolling windows' running sums (version 1 kept float64 window values; they are
    // float32 now, so the restore recomputed the sums): recomputed on both, the bytes are equal.
    let a = logic.initial("d1");
    for (let i = 1; i <= 420; i++) a = logic.receive(a, reading(i), sink().ctx);
    for (const s of [a, b]) s.names.forEach((_, i) => recomputeSums(s, i));
    // The drift gate's slots (added in version 7) start afresh on a restore from an older version.
    for (const s of [a, b]) s.names.forEach((_, i) => s.f64.fill(0, s.base + i * MH + H_DET + SAVED_SCALARS_V2, s.base + i * MH + H_DET + SAVED_SCALARS));
    // Version 1 knew no epochs: when its epoch began is unknown (only stragglers of a previous epoch use it).
    expect(b.startTsMs).toBe(0);
    b.startTsMs = a.startTsMs;
    expect(logic.snapshot(b)).toEqual(logic.snapshot(a));
  });

  it("still reads version 7, whose gaps are single seqs: restored as ranges, it goes on as the actor it was saved from", () => {
    const logic = createDeviceActor(V1);
    const h = sink();
    let a = logic.initial("d1");
    // Gaps 11-14 and 21-29, then a restart (a later reading counting from 1 again) and a gap 2-4 in the new epoch.
    for (const i of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17, 18, 19, 20, 30, 31]) a = logic.receive(a, reading(i), h.ctx);
    const restart = (seq: number) => ({ ...reading(100 + seq), reading: { ...reading(100 + seq).reading, seq } });
    for (const q of [1, 5]) a = logic.receive(a, restart(q), h.ctx);
    expect([a.epoch, a.gaps, a.prev?.gaps]).toEqual([1, [2, 5], [11, 15, 21, 30]]);
    const v8 = logic.snapshot(a);
    expect(gapLists(v8).gaps.values).toEqual([2, 5]);
    const v7 = toV7(v8);
    expect(gapLists(v7).prev!.values).toEqual([11, 12, 13, 14, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    const b = logic.restore(v7, "d1");
    expect([b.gaps, b.prev?.gaps]).toEqual([a.gaps, a.prev?.gaps]);
    expect(logic.snapshot(b)).toEqual(v8);
    // Late readings of both epochs fill the same gaps.
    const run = sideBySide(logic, a, b, [reading(12), restart(3), reading(25), reading(12), restart(6)]);
    expect(run.hb.rows).toEqual(run.ha.rows);
    expect(run.ha.rows.map((r) => [r.epoch, r.seq])).toEqual([[0, 12], [1, 3], [0, 25], [1, 6]]);
    expect(logic.snapshot(run.b)).toEqual(logic.snapshot(run.a));
  });

  it("rejects a version-8 gap list that is not made of [from, to) pairs", () => {
    const logic = createDeviceActor(V1);
    let a = logic.initial("d1");
    for (const i of [1, 5]) a = logic.receive(a, reading(i), sink().ctx);
    const v8 = logic.snapshot(a);
    const { gaps } = gapLists(v8);
    expect(gaps.values).toEqual([2, 5]);
    const bad = v8.slice();
    new DataView(bad.buffer).setUint32(gaps.at, 1, true);
    expect(() => logic.restore(bad, "d1")).toThrow(/gaps hold 1 numbers, not \[from, to\) pairs/);
  });

  it("still reads version 4: no pending anomaly window", () => {
    const logic = createDeviceActor(V1);
    const b = logic.restore(new Uint8Array(Buffer.from(fixture.snapshot, "base64")), "d1");
    const v5 = logic.snapshot(b);
    const fromV4 = logic.restore(toV4(v5), "d1");
    expect(fromV4.pending).toBeUndefined();
    expect(logic.snapshot(fromV4)).toEqual(v5);
    // ...and continues like the actor it was saved from.
    const { ha, hb } = sideBySide(logic, b, fromV4, span(301, 420, reading));
    expect(hb.rows).toEqual(ha.rows);
    expect(hb.windows).toEqual(ha.windows);
    expect(ha.windows.length).toBeGreaterThan(0);
  });

  it("still reads versions 3 and 2: same state in epoch 0, lastSeenS 0 from version 2", () => {
    const logic = createDeviceActor(V1);
    const b = logic.restore(new Uint8Array(Buffer.from(fixture.snapshot, "base64")), "d1");
    b.lastSeenS = 1_764_000_000;
    const v5 = logic.snapshot(b);
    const v4 = toV4(v5);
    const v3 = toV3(v4);
    // Version 2 bytes: version 3 without the uint32 after the six float64 counters (offset 4 + 48).
    const v2 = new Uint8Array(v3.length - 4);
    v2.set(v3.subarray(0, 52));
    v2.set(v3.subarray(56), 52);
    v2[2] = 2;
    const fromV3 = logic.restore(v3, "d1");
    expect([fromV3.epoch, fromV3.boot, fromV3.floor, fromV3.hwmTsMs]).toEqual([0, -1, 1, b.lastTsMs]);
    expect(logic.snapshot(fromV3)).toEqual(v5);
    const fromV2 = logic.restore(v2, "d1");
    expect(fromV2.lastSeenS).toBe(0);
    expect(logic.restore(v4, "d1").lastSeenS).toBe(1_764_000_000);
    fromV2.lastSeenS = b.lastSeenS;
    expect(logic.snapshot(fromV2)).toEqual(v5);
  });
});
