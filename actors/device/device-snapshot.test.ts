import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeAlerts } from "../alert/index.js";
import { createDeviceActor } from "./device.actor.js";
import { DeviceSnapshotError } from "./errors.js";
import { PW, PW_METRIC, PW_SEQ } from "./device-state.js";
import { ANOMALY_WINDOW_AFTER } from "../../src/domain/window-features.js";
import { fixture, reading, sideBySide, sink, span, TAIL, toV5, V1, val } from "./fixtures/snapshot-bytes.js";

// Older versions that still restore: device-snapshot-versions.test.ts.
describe("device snapshots", () => {
  it("scores exactly as the device actor before the packed state (version-1 fixture's rows)", () => {
    const logic = createDeviceActor(V1);
    const h = sink();
    let s = logic.initial("d1");
    for (let i = 1; i <= 420; i++) s = logic.receive(s, reading(i), h.ctx);
    expect(h.rows.map((r) => r.metric_scores)).toEqual(fixture.scores);
  });


  it("writes version 8 while no pending window is a joined anomaly's (9 otherwise: actors/device/joint.test.ts): binary, smaller than version 1", () => {
    const logic = createDeviceActor(V1);
    const b = logic.restore(new Uint8Array(Buffer.from(fixture.snapshot, "base64")), "d1");
    const v8 = logic.snapshot(b);
    expect([...v8.subarray(0, 3)]).toEqual([0x53, 0x44, 8]);
    expect(v8.byteLength).toBeLessThan(Buffer.from(fixture.snapshot, "base64").byteLength / 2);
  });








  /** A state with an anomaly window pending (the fixture series' spike at 380, 5 readings later) and its snapshot. */
  function pendingState(logic: ReturnType<typeof createDeviceActor>) {
    const h = sink();
    let s = logic.initial("d1");
    for (let i = 1; i <= 385; i++) s = logic.receive(s, reading(i), h.ctx);
    return { s, bytes: logic.snapshot(s) };
  }

  it("keeps the anomaly windows waiting for readings (version 5): restored, they complete as they would have", () => {
    const logic = createDeviceActor(V1);
    const { s, bytes } = pendingState(logic);
    expect(s.pending).toHaveLength(PW);
    expect(s.pending![PW_SEQ]).toBe(380);
    // One window at the end: uint8 count, float64 epoch, seq, ts, score, uint16 metric, uint16 readings to come.
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const at = bytes.length - TAIL - 4 - 37;
    expect(bytes[2]).toBe(8);
    expect(bytes[at]).toBe(1);
    expect([dv.getFloat64(at + 1, true), dv.getFloat64(at + 9, true), dv.getFloat64(at + 17, true)]).toEqual([0, 380, 1_700_000_000_000 + 380 * 60_000]);
    expect([dv.getUint16(at + 33, true), dv.getUint16(at + 35, true)]).toEqual([s.pending![PW_METRIC], ANOMALY_WINDOW_AFTER - 5]);
    const b = logic.restore(bytes, "d1");
    expect(b.pending).toEqual(s.pending);
    expect(logic.snapshot(b)).toEqual(bytes);
    const run = sideBySide(logic, s, b, span(386, 420, reading));
    expect(run.hb.windows).toHaveLength(1);
    expect(run.hb.windows).toEqual(run.ha.windows);
    expect(run.hb.windows[0]).toMatchObject({ seq: 380 });
    expect(run.b.pending).toBeUndefined();
  });

  it("keeps the alert state (version 6): restored, the actor raises and clears its alerts as the one that never stopped", () => {
    const rules = [
      { id: "hot", kind: "threshold" as const, metric: "v", op: "above" as const, raiseAt: 150, clearAt: 100, severity: "warning" as const, forMs: 0, clearForMs: 0, escalateAfterMs: 0, flap: { windowMs: 600_000, maxChanges: 100 } },
    ];
    const logic = createDeviceActor({ ...V1, alertRules: rules });
    const hot = (i: number, v: number) => ({ type: "reading" as const, reading: { deviceId: "d1", seq: i, tsMs: 1_700_000_000_000 + i * 60_000, metrics: { v } }, streamSeq: i });
    const h = sink();
    let a = logic.initial("d1");
    for (let i = 1; i <= 10; i++) a = logic.receive(a, hot(i, i === 10 ? 200 : 50), h.ctx);
    expect(a.alerts).toBeDefined();
    const bytes = logic.snapshot(a);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - TAIL - 4 - encodeAlerts(a.alerts!).length, true)).toBe(encodeAlerts(a.alerts!).length);
    const b = logic.restore(bytes, "d1");
    expect(logic.snapshot(b)).toEqual(bytes);
    const { ha, hb } = sideBySide(logic, a, b, span(11, 20, (i) => hot(i, i === 12 ? 80 : i === 15 ? 300 : 50)));
    expect(hb.alerts).toEqual(ha.alerts);
    expect(ha.alerts.map((t) => [t.alert_id, t.kind])).toEqual([
      ["d1/hot/1", "cleared"],
      ["d1/hot/2", "raised"],
      ["d1/hot/2", "cleared"],
    ]);
    // A version-5 snapshot (no alert state) still restores, as a device without alerts.
    const plain = logic.snapshot(logic.restore(new Uint8Array(Buffer.from(fixture.snapshot, "base64")), "d1"));
    const fromV5 = logic.restore(toV5(plain), "d1");
    expect(fromV5.alerts).toBeUndefined();
    expect(logic.snapshot(fromV5)).toEqual(plain);
  });




  it("keeps the sequence model: epochs, the previous epoch, boot numbers and timestamps of readings without seq", () => {
    const logic = createDeviceActor(V1);
    const h = sink();
    let s = logic.initial("d1");
    const r = (seq: number, tsMs: number, boot?: number) => ({ type: "reading" as const, streamSeq: 1, reading: { deviceId: "d1", seq, tsMs, metrics: { t: seq }, ...(boot === undefined ? {} : { boot }) } });
    for (let i = 1; i <= 5; i++) s = logic.receive(s, r(i, i * 1000), h.ctx);
    s = logic.receive(s, r(3, 60_000), h.ctx); // an inferred restart
    s = logic.receive(s, r(0, 61_000), h.ctx); // no counter
    s = logic.receive(s, r(1, 62_000, 9), h.ctx); // a boot number: another epoch
    expect([s.epoch, s.boot, s.prev?.epoch, s.seen]).toEqual([2, 9, 1, [61_000]]);
    const back = logic.restore(logic.snapshot(s), "d1");
    expect(logic.snapshot(back)).toEqual(logic.snapshot(s));
    expect([back.epoch, back.boot, back.prev, back.seen, back.startTsMs, back.floor]).toEqual([2, 9, s.prev, [61_000], 62_000, 1]);
  });

  it("round-trips: a restored actor continues exactly like the original (any series, metrics, cut, window size, threshold)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }), { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 900 }),
        fc.integer({ min: 0, max: 900 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 1, max: 400_000 }),
        // Random series are rarely anomalous at 0.9; at 0 every reading is (anomaly windows pending at every cut).
        fc.constantFrom(0.9, 0.5, 0),
        (series, cutAt, metricCount, windowSize, stepMs, threshold) => {
          const logic = createDeviceActor({ explainAnomalies: false, windowSize, threshold, detectorParams: { historyLength: 64, distanceMemory: 20, exclusionZone: 6, minHistory: 8, warmup: 20 } });
          const msg = (i: number) => {
            const metrics: Record<string, number> = {};
            // Metrics appear one after another, so some are younger than others.
            for (let k = 0; k < metricCount; k++) if (i >= k * 50) metrics[`m${k}`] = series[i]![k]!;
            return { type: "reading" as const, streamSeq: i + 1, reading: { deviceId: "d1", seq: i + 1, tsMs: i * stepMs, metrics } };
          };
          const cut = Math.min(cutAt, series.length);
          const ha = sink();
          let a = logic.initial("d1");
          for (let i = 0; i < cut; i++) a = logic.receive(a, msg(i), ha.ctx);
          const bytes = logic.snapshot(a);
          let b = logic.restore(bytes, "d1");
          expect(logic.snapshot(b)).toEqual(bytes);
          const hb = sink();
          const before = ha.rows.length;
          const windowsBefore = ha.windows.length;
          for (let i = cut; i < series.length; i++) {
            a = logic.receive(a, msg(i), ha.ctx);
            b = logic.receive(b, msg(i), hb.ctx);
          }
          expect(hb.rows).toEqual(ha.rows.slice(before));
          // Anomaly windows pending at the cut complete as they would have.
          expect(hb.windows).toEqual(ha.windows.slice(windowsBefore));
          expect(logic.snapshot(b)).toEqual(logic.snapshot(a));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("takes the configured window size on restore, as version 1 did", () => {
    const small = createDeviceActor({ explainAnomalies: false, windowSize: 16 });
    const s = small.restore(new Uint8Array(Buffer.from(fixture.snapshot, "base64")), "d1");
    const h = sink();
    small.receive(s, reading(301), h.ctx);
    expect(h.rows).toHaveLength(1);
    const again = small.restore(small.snapshot(s), "d1");
    expect(small.snapshot(again)).toEqual(small.snapshot(s));
  });

  it("rejects bytes that are not a device snapshot, naming the problem", () => {
    const logic = createDeviceActor({ jointModel: false });
    expect(() => logic.restore(new Uint8Array([1, 2, 3]), "d1")).toThrow(DeviceSnapshotError);
    expect(() => logic.restore(new Uint8Array([0x53, 0x44, 10, 0]), "d1")).toThrow(/unsupported version 10, expected 1 to 9/);
    const h = sink();
    let s = logic.initial("d1");
    for (let i = 1; i <= 200; i++) s = logic.receive(s, reading(i), h.ctx);
    const bytes = logic.snapshot(s);
    expect(() => logic.restore(bytes.subarray(0, bytes.length - 3), "d1")).toThrow(DeviceSnapshotError);
    expect(() => logic.restore(new Uint8Array([...bytes, 0]), "d1")).toThrow(/trailing bytes/);
    expect(() => logic.restore(new TextEncoder().encode('{"v":1,'), "d1")).toThrow(/not valid JSON/);
    // Pending anomaly windows: more than the cap, a metric the snapshot does not hold, none to wait for.
    const pending = pendingState(logic).bytes;
    const at = pending.length - TAIL - 4 - 37;
    const corrupt = (offset: number, v: number, width: 1 | 2) => {
      const c = pending.slice();
      if (width === 1) c[offset] = v;
      else new DataView(c.buffer).setUint16(offset, v, true);
      return c;
    };
    expect(() => logic.restore(corrupt(at, 5, 1), "d1")).toThrow(/5 pending anomaly windows, at most 4/);
    expect(() => logic.restore(corrupt(at + 33, 2, 2), "d1")).toThrow(/pending anomaly window of metric 2 \(of 2\)/);
    expect(() => logic.restore(corrupt(at + 35, 0, 2), "d1")).toThrow(/waits for 0 readings/);
    expect(() => logic.restore(corrupt(at, 0, 1), "d1")).toThrow(/trailing bytes/);
  });

  it("keeps the device-level model (version 7): restored mid-stream, the actor scores and saves exactly as the one that never stopped", () => {
    const logic = createDeviceActor({ explainAnomalies: false });
    const three = (i: number) => ({ type: "reading" as const, streamSeq: i, reading: { deviceId: "d1", seq: i, tsMs: 1_700_000_000_000 + i * 1000, metrics: { a: val(i, 0), b: 2 * val(i, 0) + val(i, 3) / 10, c: val(i, 2) } } });
    let a = logic.initial("d1");
    for (let i = 1; i <= 400; i++) a = logic.receive(a, three(i), sink().ctx);
    expect(a.joint).toBeInstanceOf(Float64Array);
    const bytes = logic.snapshot(a);
    const b = logic.restore(bytes, "d1");
    expect(Array.from(b.joint!)).toEqual(Array.from(a.joint!));
    expect(logic.snapshot(b)).toEqual(bytes);
    const run = sideBySide(logic, a, b, span(401, 700, three));
    expect(run.hb.rows).toEqual(run.ha.rows);
    expect(logic.snapshot(run.b)).toEqual(logic.snapshot(run.a));
    // A model of the wrong size for the metrics is refused.
    const bad = bytes.slice();
    bad[bad.length - 1 - a.joint!.length * 8] = 2;
    expect(() => logic.restore(bad, "d1")).toThrow(/device-level model of 2 metrics for 3 metrics/);
  });
});
