import { describe, expect, it } from "vitest";
import type { ActorContext } from "../../src/ports/actor.js";
import { ANALYSES_TABLE, ANOMALY_WINDOWS_TABLE } from "../../src/domain/tables.js";
import { PW, PW_JOINED, PW_SEQ } from "./device-state.js";
import { createOfflineDevice } from "./offline-device.js";
import { createDeviceActor } from "./device.actor.js";
import type { AnalysisEvent, DeviceMsg } from "./device.messages.js";
import { lehmerGaussian } from "../../test/support/seeded-noise.js";

/**
 * A device whose outlet follows its inlet, fed 3100 readings: outlet steps by 10 at 3001 (beyond
 * its range) and, with `fanSteps`, fan by 100 at 3005 and again at 3040. What it did after 3000:
 * its anomaly events, the windows it wrote (by reading number), the readings it asked the gateway
 * to explain at, and its analyses rows written at once (those of joined anomalies). `counted`
 * false: a device without a counter (every reading seq 0, told apart by its time).
 */
function run(jointModel: boolean, fanSteps = false, counted = true) {
  const logic = createDeviceActor({ jointModel, explainCache: false });
  const g = lehmerGaussian(7);
  const anomalies: AnalysisEvent[] = [];
  const windows: number[] = [];
  const explained: number[] = [];
  const stored: Record<string, unknown>[] = [];
  let seq = 0;
  const ctx: ActorContext<DeviceMsg> = {
    self: { type: "device", id: "j-2" },
    now: () => seq * 1000,
    send: () => {},
    emit: (_subject, data) => {
      if ((data as { kind?: string }).kind === "anomaly") anomalies.push(data as AnalysisEvent);
    },
    write: (table, row) => {
      if (table === ANOMALY_WINDOWS_TABLE) windows.push(Number(row["ts_ms"]) / 1000);
      if (table === ANALYSES_TABLE) stored.push(row);
    },
    call: (_service, method) => {
      if (method === "explain") explained.push(seq);
    },
    setTimer: () => {},
    cancelTimer: () => {},
  };
  let state = logic.initial("j-2");
  for (seq = 1; seq <= 3100; seq++) {
    const a = 50 + 5 * Math.sin(seq / 200) + 0.3 * g();
    const metrics = { inlet: a, outlet: a + 2 + 0.1 * g() + (seq > 3000 ? 10 : 0), fan: 1200 + 5 * g() + (fanSteps ? (seq >= 3005 ? 100 : 0) + (seq >= 3040 ? 100 : 0) : 0) };
    state = logic.receive(state, { type: "reading", streamSeq: seq, reading: { deviceId: "j-2", seq: counted ? seq : 0, tsMs: seq * 1000, metrics } }, ctx);
  }
  return { anomalies: anomalies.filter((a) => a.tsMs > 3_000_000), windows: windows.filter((w) => w > 3000), explained: explained.filter((e) => e > 3000), stored, counters: logic.counters!() };
}

describe("device actor with the device-level model", () => {
  it("flags two correlated sensors that decouple inside their ranges, with joint reasons, where the per-metric detectors stay quiet", () => {
    for (const jointModel of [true, false]) {
      const g = lehmerGaussian(21);
      const dev = createOfflineDevice("j-1", { jointModel });
      const anomalies = [];
      for (let i = 1; i <= 5300; i++) {
        const a = 50 + 5 * Math.sin(i / 200) + 0.3 * g();
        const got = dev.feed({ seq: i, tsMs: i * 1000, metrics: { inlet: a, outlet: a + 2 + 0.1 * g() + (i > 5000 ? 0.3 : 0), fan: 1200 + 5 * g() } });
        if (got.anomaly) anomalies.push(got.anomaly);
      }
      if (!jointModel) {
        expect(anomalies.filter((a) => a.seq > 5000)).toEqual([]);
        continue;
      }
      expect(anomalies.filter((a) => a.seq > 300 && a.seq <= 5000)).toEqual([]);
      const found = anomalies.filter((a) => a.seq > 5000);
      expect(found).toHaveLength(1);
      expect(["inlet", "outlet"]).toContain(found[0]!.metric);
      expect(found[0]!.reasons[0]).toMatchObject({ term: "joint" });
      expect(found[0]!.reasons.some((r) => r.metric === "fan")).toBe(false);
    }
  });

  it("joins the device-level model's alarm to the incident a per-metric alarm opened: one window and one explanation", () => {
    // outlet follows inlet; at 3001 it steps by 10 (far beyond its range: range novelty), and the
    // device-level model sees the broken relation a few readings later.
    const on = run(true);
    expect(on.anomalies.map((a) => [a.seq, a.reasons[0]!.term, a.partOf])).toEqual([
      [3001, "range", undefined],
      [3007, "joint", { epoch: on.anomalies[0]!.epoch, seq: 3001, tsMs: 3_001_000 }],
    ]);
    expect(on.windows).toEqual([3001]);
    expect(on.explained).toEqual([3001]);
    expect(on.counters).toMatchObject({ anomaliesMerged: 1 });
    // The joined anomaly is stored at once with its own reasons and the incident it joined (the
    // opening one's row comes with its explanation, which this test's gateway never sends).
    const epoch = on.anomalies[0]!.epoch;
    expect(on.stored).toHaveLength(1);
    expect(on.stored[0]).toMatchObject({ seq: 3007, epoch, summary: "", provider: "shoal", model: "incident", cost_usd: 0, incident_epoch: epoch, incident_seq: 3001, incident_ts_ms: 3_001_000 });
    expect(JSON.parse(String(on.stored[0]!["reasons"]))[0]).toMatchObject({ term: "joint" });
    // Without the model, the same step is the one per-metric anomaly, as before.
    const off = run(false);
    expect(off.anomalies.map((a) => [a.seq, a.partOf])).toEqual([[3001, undefined]]);
    expect(off.windows).toEqual([3001]);
    expect(off.explained).toEqual([3001]);
    expect(off.stored).toEqual([]);
  });

  it("joins another metric's anomaly a few readings after the first to its incident, keeping its window; one further away opens a new incident", () => {
    for (const jointModel of [true, false]) {
      const got = run(jointModel, true);
      const first = got.anomalies[0]!;
      // fan's step 4 readings after outlet's joins that incident (no Explain call of its own, its
      // window kept for similar-incident search); its second step, 39 readings after, is new.
      expect(got.anomalies.filter((a) => a.metric === "fan").map((a) => [a.seq, a.reasons[0]!.term, a.partOf])).toEqual([
        [3005, "range", { epoch: first.epoch, seq: 3001, tsMs: 3_001_000 }],
        [3040, "range", undefined],
      ]);
      expect(got.windows).toEqual([3001, 3005, 3040]);
      expect(got.explained).toEqual([3001, 3040]);
      expect(got.stored.map((r) => [r["seq"], r["metric"], r["incident_seq"]])).toEqual(jointModel ? [[3005, "fan", 3001], [3007, "outlet", 3001]] : [[3005, "fan", 3001]]);
      expect(got.counters).toMatchObject({ anomaliesMerged: jointModel ? 2 : 1 });
    }
  });

  it("joins a counterless device's anomalies by time: the incident names its first anomaly's timestamp (all its seqs are 0)", () => {
    const got = run(true, true, false);
    const epoch = got.anomalies[0]!.epoch;
    // fan's per-metric steps each open an incident (no counter: no measure of "a few readings");
    // the device-level alarm joins the newest one open, fan's at 3005, told from outlet's at 3001
    // (both seq 0) by its time.
    expect(got.anomalies.map((a) => [a.tsMs / 1000, a.seq, a.metric, a.reasons[0]!.term, a.partOf])).toEqual([
      [3001, 0, "outlet", "range", undefined],
      [3005, 0, "fan", "range", undefined],
      [3007, 0, "outlet", "joint", { epoch, seq: 0, tsMs: 3_005_000 }],
      [3040, 0, "fan", "range", undefined],
    ]);
    expect(got.explained).toEqual([3001, 3005, 3040]);
    expect(got.windows).toEqual([3001, 3005, 3040]);
    expect(got.stored).toHaveLength(1);
    expect(got.stored[0]).toMatchObject({ seq: 0, ts_ms: 3_007_000, model: "incident", incident_epoch: epoch, incident_seq: 0, incident_ts_ms: 3_005_000 });
  });

  it("keeps which open window is a joined anomaly's across a snapshot (version 9)", () => {
    const logic = createDeviceActor({ jointModel: false });
    const g = lehmerGaussian(7);
    const ctx = { self: { type: "device", id: "j-3" }, now: () => 0, send: () => {}, emit: () => {}, write: () => {}, call: () => {}, setTimer: () => {}, cancelTimer: () => {} } as ActorContext<DeviceMsg>;
    let state = logic.initial("j-3");
    for (let seq = 1; seq <= 3006; seq++) {
      const a = 50 + 5 * Math.sin(seq / 200) + 0.3 * g();
      const metrics = { inlet: a, outlet: a + 2 + 0.1 * g() + (seq > 3000 ? 10 : 0), fan: 1200 + 5 * g() + (seq >= 3005 ? 100 : 0) };
      state = logic.receive(state, { type: "reading", streamSeq: seq, reading: { deviceId: "j-3", seq, tsMs: seq * 1000, metrics } }, ctx);
    }
    const flags = (p: readonly number[] | undefined) => Array.from({ length: (p?.length ?? 0) / PW }, (_, w) => [p![w * PW + PW_SEQ], p![w * PW + PW_JOINED]]);
    expect(flags(state.pending)).toEqual([[3001, 0], [3005, 1]]);
    const bytes = logic.snapshot(state);
    expect(bytes[2]).toBe(9);
    const back = logic.restore(bytes, "j-3");
    expect(back.pending).toEqual(state.pending);
    expect(logic.snapshot(back)).toEqual(bytes);
  });
});
