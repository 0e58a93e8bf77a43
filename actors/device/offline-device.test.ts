import { describe, expect, it } from "vitest";
import { createDeviceActor } from "./device.actor.js";
import type { DeviceMsg } from "./device.messages.js";
import { createOfflineDevice } from "./offline-device.js";
import type { ActorContext } from "../../src/ports/actor.js";
import { READINGS_TABLE } from "../../src/domain/tables.js";

/** A noisy sine with one spike: enough for the detector to warm up and flag something. */
function series(n: number): { tsMs: number; v: number }[] {
  let x = 7;
  const rnd = () => ((x = (x * 48271) % 2147483647) / 2147483647) - 0.5;
  return Array.from({ length: n }, (_, i) => ({ tsMs: 1_700_000_000_000 + i * 60_000, v: Math.sin(i / 20) + 0.1 * rnd() + (i === n - 50 ? 8 : 0) }));
}

describe("createOfflineDevice", () => {
  it("returns, reading by reading, the scores the device actor writes to its readings rows", () => {
    const rows = series(1500);
    const off = createOfflineDevice("d-1");
    const got = rows.map((r, i) => off.feed({ seq: i + 1, tsMs: r.tsMs, metrics: { temp: r.v } }));

    // The same logic under a recording context, as the runtime hosts it.
    const logic = createDeviceActor({ explainAnomalies: false });
    let state = logic.initial("d-1");
    const written: { score: number; metric_scores: number[] }[] = [];
    const ctx = {
      self: { type: "device", id: "d-1" },
      now: () => 0,
      send: () => undefined,
      emit: () => undefined,
      write: (table: string, row: Record<string, unknown>) => {
        if (table === READINGS_TABLE) written.push(row as never);
      },
      call: () => undefined,
      setTimer: () => undefined,
      cancelTimer: () => undefined,
    } as unknown as ActorContext<DeviceMsg>;
    rows.forEach((r, i) => {
      state = logic.receive(state, { type: "reading", reading: { deviceId: "d-1", seq: i + 1, tsMs: r.tsMs, metrics: { temp: r.v } }, streamSeq: i + 1 }, ctx);
    });

    expect(got.map((g) => g.score)).toEqual(written.map((w) => w.score));
    expect(got.map((g) => g.scores)).toEqual(written.map((w) => w.metric_scores));
    expect(got.some((g) => g.anomaly !== undefined)).toBe(true);
    expect(got[rows.length - 50]!.score).toBeGreaterThanOrEqual(0.9);
    expect(off.fed).toBe(rows.length);
  });

  it("reports a duplicate seq as skipped and scores nothing for it", () => {
    const off = createOfflineDevice("d-2");
    expect(off.feed({ seq: 1, tsMs: 1000, metrics: { a: 1 } }).skipped).toBe(false);
    const dup = off.feed({ seq: 1, tsMs: 1000, metrics: { a: 1 } });
    expect(dup.skipped).toBe(true);
    expect(dup.names).toEqual([]);
  });

  it("round-trips its state through the actor's snapshot", () => {
    const off = createOfflineDevice("d-3");
    for (let i = 1; i <= 300; i++) off.feed({ seq: i, tsMs: i * 1000, metrics: { a: Math.sin(i), b: Math.cos(i) } });
    const bytes = off.snapshot();
    const logic = createDeviceActor({});
    expect(logic.snapshot(logic.restore(bytes, "d-3"))).toEqual(bytes);
  });
});
