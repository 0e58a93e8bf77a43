import { describe, expect, it } from "vitest";
import { createDeviceActor } from "./device.actor.js";
import type { DeviceMsg } from "./device.messages.js";
import { createOfflineDevice } from "./offline-device.js";
import type { ActorContext } from "../../src/ports/actor.js";
import type { ExplainRequest, ExplainResult } from "../../src/ports/gateway.js";

/** Deterministic noise in [-0.5, 0.5). */
function noise(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 48271) % 2147483647) / 2147483647) - 0.5;
}

describe("why an anomaly fired", () => {
  it("names the metric and the term: a value far beyond everything seen is range novelty", () => {
    const rnd = noise(11);
    const dev = createOfflineDevice("r-1");
    let anomaly;
    for (let i = 1; i <= 2000; i++) {
      const spike = i === 1800 ? 50 : 0;
      const got = dev.feed({ seq: i, tsMs: i * 1000, metrics: { temp: 20 + rnd() + spike, rpm: 900 + 10 * rnd() } });
      if (i === 1800) anomaly = got.anomaly;
      else if (i > 300 && i < 1800) expect(got.anomaly).toBeUndefined();
    }
    expect(anomaly).toBeDefined();
    expect(anomaly!.metric).toBe("temp");
    expect(anomaly!.reasons[0]).toMatchObject({ metric: "temp", term: "range" });
    expect(anomaly!.reasons.every((r) => r.score >= 0.9)).toBe(true);
  });

  it("calls a clear outlier before the detector's warm-up an outlier", () => {
    const rnd = noise(5);
    const dev = createOfflineDevice("r-2");
    let anomaly;
    for (let i = 1; i <= 60; i++) {
      const got = dev.feed({ seq: i, tsMs: i * 1000, metrics: { temp: 20 + rnd() + (i === 60 ? 40 : 0) } });
      if (got.anomaly) anomaly = got.anomaly;
    }
    expect(anomaly?.seq).toBe(60);
    expect(anomaly!.reasons).toEqual([{ metric: "temp", term: "outlier", score: 1 }]);
  });

  it("passes the reasons to the gateway's Explain and stores them with the analysis", () => {
    const rnd = noise(3);
    const logic = createDeviceActor({});
    let state = logic.initial("r-3");
    const calls: { req: ExplainRequest; reply: (res: ExplainResult) => DeviceMsg }[] = [];
    const analyses: Record<string, unknown>[] = [];
    const ctx = {
      self: { type: "device", id: "r-3" },
      now: () => 0,
      send: () => undefined,
      emit: () => undefined,
      write: (table: string, row: Record<string, unknown>) => void (table === "analyses" && analyses.push(row)),
      call: (_s: string, _m: string, req: unknown, onReply: (res: never) => DeviceMsg) => void calls.push({ req: req as ExplainRequest, reply: onReply as never }),
      setTimer: () => undefined,
      cancelTimer: () => undefined,
    } as unknown as ActorContext<DeviceMsg>;
    for (let i = 1; i <= 1200; i++) {
      state = logic.receive(state, { type: "reading", reading: { deviceId: "r-3", seq: i, tsMs: i * 1000, metrics: { temp: 20 + rnd() + (i === 1100 ? 60 : 0) } }, streamSeq: i }, ctx);
    }
    expect(calls).toHaveLength(1);
    expect(calls[0]!.req.context?.["reasons"]).toMatch(/^temp: range 1\.00$/);
    const result: ExplainResult = { summary: "s", likelyCause: "c", suggestedAction: "a", model: { provider: "local", model: "m", promptVersion: "v1", cached: false, degraded: false, costUsd: 0 } } as ExplainResult;
    state = logic.receive(state, calls[0]!.reply(result), ctx);
    expect(analyses).toHaveLength(1);
    expect(JSON.parse(analyses[0]!["reasons"] as string)).toEqual([{ metric: "temp", term: "range", score: 1 }]);
  });
});
