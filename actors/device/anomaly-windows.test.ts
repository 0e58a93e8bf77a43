import { describe, expect, it } from "vitest";
import { ANOMALY_WINDOW_AFTER, ANOMALY_WINDOW_READINGS, cosineDistance, windowFeatures } from "../../src/domain/window-features.js";
import type { ActorContext } from "../../src/ports/actor.js";
import type { Row } from "../../src/ports/row-sink.js";
import { MAX_PENDING_WINDOWS, PW } from "./device-state.js";
import { createDeviceActor } from "./device.actor.js";
import type { DeviceState } from "./device.actor.js";
import type { DeviceMsg } from "./device.messages.js";

/**
 * The anomaly window around each anomaly (src/domain/window-features.ts): held open until
 * ANOMALY_WINDOW_AFTER readings of its metric came after it, then one `anomaly_windows` row keyed
 * by the anomaly.
 */

/** Everything the actor did, in order; `at` is the seq of the reading being applied (-1: no reading). */
interface Effect {
  readonly table: string;
  readonly row: Row;
  readonly at: number;
}

function harness(id = "d1") {
  let now = 1_000;
  let at = -1;
  const effects: Effect[] = [];
  const anomalies: number[] = [];
  const ctx: ActorContext<DeviceMsg> = {
    self: { type: "device", id },
    now: () => now,
    send: () => {},
    emit: (subject, data) => {
      if (subject.startsWith("shoal.analysis.")) anomalies.push((data as { seq: number }).seq);
    },
    write: (table, row) => void effects.push({ table, row, at }),
    call: () => {},
    setTimer: () => {},
    cancelTimer: () => {},
  };
  return {
    ctx,
    effects,
    anomalies,
    windows: () => effects.filter((e) => e.table === "anomaly_windows"),
    /** Applies one reading (`at` set to its seq while it is). */
    feed(logic: ReturnType<typeof createDeviceActor>, s: DeviceState, seq: number, metrics: Record<string, number>): DeviceState {
      at = seq;
      const next = logic.receive(s, { type: "reading", streamSeq: seq, reading: { deviceId: id, seq, tsMs: seq * 1000, metrics } }, ctx);
      at = -1;
      return next;
    },
    advance: (ms: number) => (now += ms),
  };
}

type Kind = "spike" | "level_shift" | "stuck" | "noise_burst";
const AT = 600;

/** A periodic series with noise (3 decimals, so the window the actor keeps reads back exactly) and one anomaly of `kind` from reading `at`. */
function series(kind: Kind | "none", length = AT + 40, seed = 11, at = AT): number[] {
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const out: number[] = [];
  let stuck = 0;
  for (let i = 1; i <= length; i++) {
    let v = 20 + 3 * Math.sin((2 * Math.PI * i) / 60) + (rnd() - 0.5) * 0.2;
    if (kind === "spike" && i === at) v += 15;
    if (kind === "level_shift" && i >= at) v += 10;
    if (kind === "stuck" && i >= at && i < at + 30) v = stuck ||= v;
    if (kind === "noise_burst" && i >= at && i < at + 30) v += (rnd() - 0.5) * 12;
    out.push(Math.round(v * 1000) / 1000);
  }
  return out;
}

/** The window's shape as the row carries it: the last ANOMALY_WINDOW_READINGS values up to reading `seq` (1-based). */
const shapeUpTo = (values: readonly number[], seq: number) => Array.from(windowFeatures(values.slice(Math.max(0, seq - ANOMALY_WINDOW_READINGS), seq))!);

function run(kind: Kind) {
  const logic = createDeviceActor({ explainAnomalies: false });
  const h = harness();
  const values = series(kind);
  let s = logic.initial("d1");
  values.forEach((v, i) => (s = h.feed(logic, s, i + 1, { t: v })));
  return { h, values, s };
}

describe("anomaly windows: the window around the anomaly", () => {
  it.each<Kind>(["spike", "level_shift", "stuck", "noise_burst"])("a %s gives exactly one row, 16 readings after the anomaly, keyed by the anomaly", (kind) => {
    const { h, values, s } = run(kind);
    expect(h.anomalies).toHaveLength(1);
    const a = h.anomalies[0]!;
    // Detected at the onset (spike, level shift) or a few readings into it (stuck value, noise burst).
    expect(a).toBeGreaterThanOrEqual(AT);
    expect(a).toBeLessThan(AT + 8);
    const rows = h.windows();
    expect(rows).toHaveLength(1);
    const analysed = h.effects.find((e) => e.table === "readings" && e.row["seq"] === a)!;
    expect(rows[0]!.at).toBe(a + ANOMALY_WINDOW_AFTER);
    expect(rows[0]!.row).toEqual({ device_id: "d1", epoch: 0, seq: a, ts_ms: a * 1000, metric: "t", score: analysed.row["score"], vector: shapeUpTo(values, a + ANOMALY_WINDOW_AFTER) });
    expect(s.pending).toBeUndefined();
  });

  it("tells apart what looks alike at the anomaly: a spike and a level shift", () => {
    const spike = run("spike");
    const shift = run("level_shift");
    const vec = (r: ReturnType<typeof run>) => r.h.windows()[0]!.row["vector"] as number[];
    // The window up to the anomaly (as taken before): one point off in both, nearly the same shape.
    expect(cosineDistance(shapeUpTo(spike.values, AT), shapeUpTo(shift.values, AT))).toBeLessThan(0.05);
    // Around it: what came after differs.
    expect(cosineDistance(vec(spike), vec(shift))).toBeGreaterThan(0.15);
    const all = (["spike", "level_shift", "stuck", "noise_burst"] as const).map((k) => vec(run(k)));
    // (0.08: the noise burst's window starts two readings later since its first new extreme is a
    // weak range novelty, src/detector/range-novelty.ts; its nearest pair is 0.087 apart.)
    for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) expect(cosineDistance(all[i]!, all[j]!)).toBeGreaterThan(0.08);
  });

  it("counts only applied readings that carry the metric: not duplicates, dropped readings or readings of other metrics", () => {
    const logic = createDeviceActor({ explainAnomalies: false });
    const h = harness();
    const values = series("spike", AT + 30);
    let s = logic.initial("d1");
    for (let i = 1; i <= AT; i++) s = h.feed(logic, s, i, { t: values[i - 1]! });
    expect(h.anomalies).toEqual([AT]);
    s = h.feed(logic, s, AT, { t: values[AT - 1]! }); // a duplicate
    s = h.feed(logic, s, AT + 1, { h: 50 }); // applied, without the metric
    s = h.feed(logic, s, AT + 50_000_000, { t: 20 }); // a jump out of range: not applied
    expect(s.duplicates).toBe(1);
    expect(s.hwm).toBe(AT + 1);
    // The window's metric values: t up to AT, then t again from AT + 2.
    const t = values.slice(0, AT);
    for (let i = AT + 2; i < AT + 2 + ANOMALY_WINDOW_AFTER; i++) {
      expect(h.windows()).toHaveLength(0);
      s = h.feed(logic, s, i, { t: values[i - 1]!, h: 50 });
      t.push(values[i - 1]!);
    }
    expect(h.windows().map((w) => [w.row["seq"], w.at])).toEqual([[AT, AT + 1 + ANOMALY_WINDOW_AFTER]]);
    expect(h.windows()[0]!.row["vector"]).toEqual(shapeUpTo(t, t.length));
  });

  it("completes every pending window when the device goes offline, with the readings there are", () => {
    // Per-metric windows only: the device-level model would add its own anomaly for the level shift.
    const logic = createDeviceActor({ explainAnomalies: false, heartbeatTimeoutMs: 60_000, jointModel: false });
    const h = harness();
    const tv = series("spike", AT + 5);
    const hv = series("level_shift", AT + 5, 99, AT + 2);
    let s = logic.initial("d1");
    for (let i = 1; i <= AT + 5; i++) s = h.feed(logic, s, i, { t: tv[i - 1]!, h: hv[i - 1]! });
    expect(h.anomalies).toEqual([AT, AT + 2]);
    expect(s.pending?.length).toBe(2 * PW); // one window per metric
    expect(h.windows()).toHaveLength(0);
    h.advance(60_000);
    s = logic.receive(s, { type: "heartbeat-timeout" }, h.ctx);
    expect(s.online).toBe(false);
    expect(s.pending).toBeUndefined();
    const rows = h.windows();
    expect(rows.map((w) => [w.row["seq"], w.row["metric"], w.at])).toEqual([
      [AT, "t", -1],
      [AT + 2, "h", -1],
    ]);
    expect(rows.map((w) => w.row["vector"])).toEqual([shapeUpTo(tv, AT + 5), shapeUpTo(hv, AT + 5)]);
    // Written before the offline event.
    expect(h.effects.at(-1)!.table).toBe("device_events");
    for (let i = AT + 6; i <= AT + 40; i++) s = h.feed(logic, s, i, { t: 20, h: 50 });
    expect(h.windows()).toHaveLength(2);
  });

  it(`holds at most ${MAX_PENDING_WINDOWS} windows open: a further anomaly completes the oldest at once`, () => {
    const logic = createDeviceActor({ explainAnomalies: false, threshold: 0.99 });
    const h = harness();
    const values = Array.from({ length: 60 }, (_, i) => Math.round((20 + (i % 5) * 0.1 + (i >= 30 ? (i % 3) * 0.05 : 0)) * 1000) / 1000);
    let s = logic.initial("d1");
    for (let i = 1; i <= 30; i++) s = h.feed(logic, s, i, { t: values[i - 1]! });
    expect(s.pending).toBeUndefined();
    logic.configure!({ threshold: 0 }); // from now on every reading is an anomaly
    for (let i = 31; i <= 34; i++) s = h.feed(logic, s, i, { t: values[i - 1]! });
    expect(s.pending?.length).toBe(MAX_PENDING_WINDOWS * PW);
    expect(h.windows()).toHaveLength(0);
    for (let i = 35; i <= 40; i++) s = h.feed(logic, s, i, { t: values[i - 1]! });
    expect(s.pending?.length).toBe(MAX_PENDING_WINDOWS * PW);
    expect(h.windows().map((w) => [w.row["seq"], w.at])).toEqual([31, 32, 33, 34, 35, 36].map((a) => [a, a + MAX_PENDING_WINDOWS]));
    expect(h.windows()[0]!.row["vector"]).toEqual(shapeUpTo(values, 35));
  });

  it("a device without pending windows holds no array for them", () => {
    const { h, s } = run("spike");
    expect(h.windows()).toHaveLength(1);
    expect(s.pending).toBeUndefined();
    expect("pending" in createDeviceActor().initial("d1")).toBe(false);
  });

  it("a snapshot taken while windows are pending restores to an actor that writes the same rows as one that never stopped", () => {
    const logic = createDeviceActor({ explainAnomalies: false, jointModel: false });
    const tv = series("spike", AT + 120);
    const hv = series("level_shift", AT + 120, 5, AT + 7);
    const vv = series("spike", AT + 120, 3, AT + 12);
    // t: spikes at AT and (beyond anything seen) at AT + 70; h: a level shift at AT + 7; v: a spike at AT + 12.
    const msg = (i: number) => ({ t: tv[i - 1]! + (i === AT + 70 ? 40 : 0), h: hv[i - 1]!, v: vv[i - 1]! });
    // The reference: never stops; its snapshot after each reading of the cut range.
    const ref = harness();
    let a = logic.initial("d1");
    const cuts = new Map<number, { bytes: Uint8Array; pending: number; effects: number }>();
    for (let i = 1; i <= AT + 120; i++) {
      a = ref.feed(logic, a, i, msg(i));
      if (i >= AT - 2 && (i <= AT + 30 || i % 4 === 0)) cuts.set(i, { bytes: logic.snapshot(a), pending: (a.pending?.length ?? 0) / PW, effects: ref.effects.length });
    }
    expect(ref.anomalies).toEqual([AT, AT + 7, AT + 12, AT + 70]);
    expect(ref.windows().map((w) => w.row["seq"])).toEqual(ref.anomalies);
    const pendingCounts = [...cuts.values()].map((c) => c.pending);
    expect(Math.max(...pendingCounts)).toBe(3);
    expect(pendingCounts.filter((p) => p > 0).length).toBeGreaterThanOrEqual(30);
    const end = logic.snapshot(a);
    for (const [cut, saved] of cuts) {
      const h = harness();
      let b = logic.restore(saved.bytes, "d1");
      expect((b.pending?.length ?? 0) / PW).toBe(saved.pending);
      for (let i = cut + 1; i <= AT + 120; i++) b = h.feed(logic, b, i, msg(i));
      expect(h.effects).toEqual(ref.effects.slice(saved.effects));
      expect(logic.snapshot(b)).toEqual(end);
      logic.dispose!(b);
    }
  });
});
