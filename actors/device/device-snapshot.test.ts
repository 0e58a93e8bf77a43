import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ActorContext } from "../../src/ports/actor.js";
import type { Row } from "../../src/ports/row-sink.js";
import { encodeAlerts } from "../alert/index.js";
import { createDeviceActor } from "./device.actor.js";
import type { DeviceMsg } from "./device.messages.js";
import { DeviceSnapshotError } from "./errors.js";
import { H_DET, MH, recomputeSums } from "./metric-store.js";
import { SAVED_SCALARS, SAVED_SCALARS_V2 } from "../../src/detector/index.js";
import { PW, PW_METRIC, PW_SEQ } from "./device-state.js";
import { ANOMALY_WINDOW_AFTER } from "../../src/domain/window-features.js";

function sink() {
  const rows: Row[] = [];
  const windows: Row[] = [];
  const alerts: Row[] = [];
  const ctx: ActorContext<DeviceMsg> = {
    self: { type: "device", id: "d1" },
    now: () => 0,
    send: () => {},
    emit: () => {},
    write: (t, row) => void (t === "readings" ? rows.push(row) : t === "anomaly_windows" ? windows.push(row) : t === "alert_transitions" && alerts.push(row)),
    call: () => {},
    setTimer: () => {},
    cancelTimer: () => {},
  };
  return { ctx, rows, windows, alerts };
}

/** Settings of the fixture's actor: it predates the device-level model, so these tests run without it. */
const V1 = { explainAnomalies: false, jointModel: false } as const;

/** Bytes after the alert state: the device-level model's count (0: none in these snapshots). */
const TAIL = 1;

/**
 * Fixture written by the device actor before ADR 0008 (JSON + base64, version 1): its snapshot
 * after readings 1..300 of the series below, and the `metric_scores` of its rows for 1..420.
 */
const fixture = JSON.parse(readFileSync(new URL("./fixtures/v1-snapshot.json", import.meta.url), "utf8")) as { snapshot: string; scores: number[][] };
const val = (i: number, k: number) => 20 + 5 * Math.sin(i / (7 + k)) + ((i * 7919 + k * 104729) % 97) / 50 + (i === 380 ? 30 : 0);
const reading = (i: number) => ({ type: "reading" as const, streamSeq: i, reading: { deviceId: "d1", seq: i, tsMs: 1_700_000_000_000 + i * 60_000, metrics: { temp: val(i, 0), hum: val(i, 1) } } });

describe("device snapshots", () => {
  it("scores exactly as the device actor before the packed state (version-1 fixture's rows)", () => {
    const logic = createDeviceActor(V1);
    const h = sink();
    let s = logic.initial("d1");
    for (let i = 1; i <= 420; i++) s = logic.receive(s, reading(i), h.ctx);
    expect(h.rows.map((r) => r.metric_scores)).toEqual(fixture.scores);
  });

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

  it("writes version 8: binary, smaller than version 1", () => {
    const logic = createDeviceActor(V1);
    const b = logic.restore(new Uint8Array(Buffer.from(fixture.snapshot, "base64")), "d1");
    const v8 = logic.snapshot(b);
    expect([...v8.subarray(0, 3)]).toEqual([0x53, 0x44, 8]);
    expect(v8.byteLength).toBeLessThan(Buffer.from(fixture.snapshot, "base64").byteLength / 2);
  });

  /** The gap lists of a snapshot (version 8: [from, to) pairs; before: single seqs), their offsets and the bytes after them. */
  function gapLists(bytes: Uint8Array) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const list = (at: number) => ({ at, values: Array.from({ length: dv.getUint32(at, true) }, (_, k) => dv.getFloat64(at + 4 + 8 * k, true)) });
    const gaps = list(4 + 48 + 4 + 56);
    let at = gaps.at + 4 + gaps.values.length * 8;
    const prev = bytes[at++] === 1 ? list(at + 48) : undefined;
    return { gaps, prev };
  }

  /** Version 7 bytes of a version-8 snapshot: its gap ranges written as the single seqs they hold. */
  function toV7(v8: Uint8Array): Uint8Array {
    const { gaps, prev } = gapLists(v8);
    const seqs = (pairs: number[]) => pairs.flatMap((_, k) => (k % 2 === 0 ? Array.from({ length: pairs[k + 1]! - pairs[k]! }, (_, i) => pairs[k]! + i) : []));
    const f64s = (values: number[]) => {
      const b = new Uint8Array(4 + 8 * values.length);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, values.length, true);
      values.forEach((v, k) => dv.setFloat64(4 + 8 * k, v, true));
      return b;
    };
    const end = (l: { at: number; values: number[] }) => l.at + 4 + 8 * l.values.length;
    const parts = [v8.subarray(0, gaps.at), f64s(seqs(gaps.values))];
    if (prev === undefined) parts.push(v8.subarray(end(gaps)));
    else parts.push(v8.subarray(end(gaps), prev.at), f64s(seqs(prev.values)), v8.subarray(end(prev)));
    const v7 = new Uint8Array(Buffer.concat(parts));
    v7[2] = 7;
    return v7;
  }

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
    let b = logic.restore(v7, "d1");
    expect([b.gaps, b.prev?.gaps]).toEqual([a.gaps, a.prev?.gaps]);
    expect(logic.snapshot(b)).toEqual(v8);
    // Late readings of both epochs fill the same gaps.
    const ha = sink();
    const hb = sink();
    for (const m of [reading(12), restart(3), reading(25), reading(12), restart(6)]) {
      a = logic.receive(a, m, ha.ctx);
      b = logic.receive(b, m, hb.ctx);
    }
    expect(hb.rows).toEqual(ha.rows);
    expect(ha.rows.map((r) => [r.epoch, r.seq])).toEqual([[0, 12], [1, 3], [0, 25], [1, 6]]);
    expect(logic.snapshot(b)).toEqual(logic.snapshot(a));
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

  /**
   * Version 6 bytes of a version-7 (or, without gaps, version-8) snapshot whose drift-gate slots are at their initial 0 and that
   * holds no device-level model: per metric the detector scalars cut to version 6's count, and the
   * device-level model's count (0) at the end cut off.
   */
  function toV6(v7: Uint8Array): Uint8Array {
    expect(v7.at(-1)).toBe(0);
    const dv = new DataView(v7.buffer, v7.byteOffset, v7.byteLength);
    let at = 4 + 48 + 4 + 56;
    at += 4 + dv.getUint32(at, true) * 8; // gaps
    if (v7[at++] === 1) {
      at += 48;
      at += 4 + dv.getUint32(at, true) * 8;
    }
    at += 4 + dv.getUint32(at, true) * 8; // timestamps
    const metrics = dv.getUint16(at, true);
    at += 2;
    const parts: Uint8Array[] = [];
    let from = 0;
    for (let m = 0; m < metrics; m++) {
      at += 2 + dv.getUint16(at, true);
      at += 1 + v7[at]! * 9;
      const held = dv.getUint32(at + 4, true);
      at += 16 + 16 + held * 8;
      const extra = at + SAVED_SCALARS_V2 * 8;
      for (let k = 0; k < (SAVED_SCALARS - SAVED_SCALARS_V2) * 8; k++) expect(v7[extra + k]).toBe(0);
      parts.push(v7.subarray(from, extra));
      from = at + SAVED_SCALARS * 8;
      at = from;
      at += 4 + dv.getUint32(at, true) * 4;
      at += 4 + dv.getUint32(at, true) * 4;
    }
    parts.push(v7.subarray(from, v7.length - 1));
    const v6 = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      v6.set(p, o);
      o += p.length;
    }
    v6[2] = 6;
    return v6;
  }

  /** Version 5 bytes of a version-7 snapshot without alert state: the length (uint32 0) at the end cut off. */
  function toV5(v7: Uint8Array): Uint8Array {
    const v6 = toV6(v7);
    expect([...v6.subarray(-4)]).toEqual([0, 0, 0, 0]);
    const v5 = v6.slice(0, -4);
    v5[2] = 5;
    return v5;
  }

  /** Version 4 bytes of a version-6 snapshot without pending anomaly windows nor alerts: the count (0) at the end cut off. */
  function toV4(v6: Uint8Array): Uint8Array {
    const v5 = toV5(v6);
    expect(v5.at(-1)).toBe(0);
    const v4 = v5.slice(0, -1);
    v4[2] = 4;
    return v4;
  }

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
    expect(bytes[at]).toBe(1);
    expect([dv.getFloat64(at + 1, true), dv.getFloat64(at + 9, true), dv.getFloat64(at + 17, true)]).toEqual([0, 380, 1_700_000_000_000 + 380 * 60_000]);
    expect([dv.getUint16(at + 33, true), dv.getUint16(at + 35, true)]).toEqual([s.pending![PW_METRIC], ANOMALY_WINDOW_AFTER - 5]);
    let b = logic.restore(bytes, "d1");
    expect(b.pending).toEqual(s.pending);
    expect(logic.snapshot(b)).toEqual(bytes);
    let a = s;
    const ha = sink();
    const hb = sink();
    for (let i = 386; i <= 420; i++) {
      a = logic.receive(a, reading(i), ha.ctx);
      b = logic.receive(b, reading(i), hb.ctx);
    }
    expect(hb.windows).toHaveLength(1);
    expect(hb.windows).toEqual(ha.windows);
    expect(hb.windows[0]).toMatchObject({ seq: 380 });
    expect(b.pending).toBeUndefined();
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
    let b = logic.restore(bytes, "d1");
    expect(logic.snapshot(b)).toEqual(bytes);
    const ha = sink();
    const hb = sink();
    for (let i = 11; i <= 20; i++) {
      const v = i === 12 ? 80 : i === 15 ? 300 : 50;
      a = logic.receive(a, hot(i, v), ha.ctx);
      b = logic.receive(b, hot(i, v), hb.ctx);
    }
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

  it("still reads version 4: no pending anomaly window", () => {
    const logic = createDeviceActor(V1);
    const b = logic.restore(new Uint8Array(Buffer.from(fixture.snapshot, "base64")), "d1");
    const v5 = logic.snapshot(b);
    const fromV4 = logic.restore(toV4(v5), "d1");
    expect(fromV4.pending).toBeUndefined();
    expect(logic.snapshot(fromV4)).toEqual(v5);
    // ...and continues like the actor it was saved from.
    let a = b;
    let c = fromV4;
    const ha = sink();
    const hc = sink();
    for (let i = 301; i <= 420; i++) {
      a = logic.receive(a, reading(i), ha.ctx);
      c = logic.receive(c, reading(i), hc.ctx);
    }
    expect(hc.rows).toEqual(ha.rows);
    expect(hc.windows).toEqual(ha.windows);
    expect(ha.windows.length).toBeGreaterThan(0);
  });

  /** Version 3 bytes of a version-4 snapshot without a previous epoch or timestamps: the sequence fields cut out. */
  function toV3(v4: Uint8Array): Uint8Array {
    const dv = new DataView(v4.buffer, v4.byteOffset, v4.byteLength);
    const gapsAt = 56 + 7 * 8;
    const gapsEnd = gapsAt + 4 + dv.getUint32(gapsAt, true) * 8;
    expect(v4[gapsEnd]).toBe(0); // no previous epoch
    expect(dv.getUint32(gapsEnd + 1, true)).toBe(0); // no timestamps
    const v3 = new Uint8Array([...v4.subarray(0, 56), ...v4.subarray(gapsAt, gapsEnd), ...v4.subarray(gapsEnd + 5)]);
    v3[2] = 3;
    return v3;
  }

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
    expect(() => logic.restore(new Uint8Array([0x53, 0x44, 9, 0]), "d1")).toThrow(/unsupported version 9, expected 1 to 8/);
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
    let b = logic.restore(bytes, "d1");
    expect(Array.from(b.joint!)).toEqual(Array.from(a.joint!));
    expect(logic.snapshot(b)).toEqual(bytes);
    const ha = sink();
    const hb = sink();
    for (let i = 401; i <= 700; i++) {
      a = logic.receive(a, three(i), ha.ctx);
      b = logic.receive(b, three(i), hb.ctx);
    }
    expect(hb.rows).toEqual(ha.rows);
    expect(logic.snapshot(b)).toEqual(logic.snapshot(a));
    // A model of the wrong size for the metrics is refused.
    const bad = bytes.slice();
    bad[bad.length - 1 - a.joint!.length * 8] = 2;
    expect(() => logic.restore(bad, "d1")).toThrow(/device-level model of 2 metrics for 3 metrics/);
  });
});
