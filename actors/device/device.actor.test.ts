import { describe, expect, it } from "vitest";
import type { ActorContext } from "../../src/ports/actor.js";
import type { Row } from "../../src/ports/row-sink.js";
import { createDeviceActor } from "./device.actor.js";
import type { DeviceMsg } from "./device.messages.js";

function harness() {
  let now = 1_000;
  const rows: Row[] = [];
  const other: Row[] = [];
  const events: Array<{ subject: string; data: unknown }> = [];
  const timers = new Map<string, { at: number; msg: DeviceMsg }>();
  const ctx: ActorContext<DeviceMsg> = {
    self: { type: "device", id: "d1" },
    now: () => now,
    send: () => {},
    emit: (subject, data) => events.push({ subject, data }),
    write: (t, row) => void (t === "readings" ? rows : other).push(row),
    call: () => {},
    setTimer: (name, delay, msg) => timers.set(name, { at: now + delay, msg }),
    cancelTimer: (name) => timers.delete(name),
  };
  return { ctx, rows, other, events, timers, advance: (ms: number) => (now += ms) };
}

const reading = (seq: number, t: number) => ({ type: "reading" as const, streamSeq: seq, reading: { deviceId: "d1", seq, tsMs: seq * 1000, metrics: { t } } });

describe("device actor", () => {
  it("writes one row per new reading, skips duplicates, and scores outliers high", () => {
    const logic = createDeviceActor({ threshold: 0.99 });
    const h = harness();
    let s = logic.initial("d1");
    for (let i = 1; i <= 50; i++) s = logic.receive(s, reading(i, 20 + (i % 5) * 0.1), h.ctx);
    s = logic.receive(s, reading(25, 20), h.ctx); // redelivered
    s = logic.receive(s, reading(51, 80), h.ctx); // outlier
    expect(h.rows).toHaveLength(51);
    expect(s.duplicates).toBe(1);
    expect(h.rows.at(-1)!.score).toBeGreaterThan(0.99);
    expect(h.rows[30]!.score).toBeLessThan(0.99);
    expect(h.events.filter((e) => e.subject === "shoal.analysis.d1")).toHaveLength(1);
    // The anomaly's window shape, for similar-incident search: the window around the anomaly, so
    // one row once 16 more readings came (anomaly-windows.test.ts), a 32-dimension unit vector.
    const windows = h.other.filter((r) => Array.isArray(r["vector"]));
    expect(windows).toHaveLength(0);
    for (let i = 52; i <= 67; i++) s = logic.receive(s, reading(i, 20 + (i % 5) * 0.1), h.ctx);
    windows.push(...h.other.filter((r) => Array.isArray(r["vector"])));
    expect(windows).toHaveLength(1);
    expect(windows[0]).toMatchObject({ device_id: "d1", seq: 51, metric: "t" });
    const v = windows[0]!["vector"] as number[];
    expect(v).toHaveLength(32);
    expect(Math.hypot(...v)).toBeCloseTo(1, 5);
  });

  it("writes each reading's metrics in its own order, whatever metrics and order the readings before it had", () => {
    const logic = createDeviceActor();
    const h = harness();
    const sent: Record<string, number>[] = [{ a: 1, b: 2 }, { a: 1.5, b: 2.5 }, { b: 3, a: 4 }, { a: 5 }, { a: 6, b: 7, c: 8 }, { c: 9, a: 10, b: 11 }, { a: 12, b: 13, c: 14 }, { d: 15 }, {}, { a: 16, b: 17, c: 18, d: 19 }];
    let s = logic.initial("d1");
    sent.forEach((metrics, i) => (s = logic.receive(s, { type: "reading", streamSeq: i + 1, reading: { deviceId: "d1", seq: i + 1, tsMs: (i + 1) * 1000, metrics } }, h.ctx)));
    expect(h.rows.map((r) => [r["metric_names"], r["metric_values"]])).toEqual(sent.map((m) => [Object.keys(m), Object.values(m)]));
  });

  it("asks the gateway to explain with the window's values as the device sent them (float32 storage, decimal values back)", () => {
    const logic = createDeviceActor({ threshold: 0.99 });
    const h = harness();
    const calls: unknown[] = [];
    const ctx: ActorContext<DeviceMsg> = { ...h.ctx, call: (_s, _m, req) => void calls.push(req) };
    let s = logic.initial("d1");
    const values = Array.from({ length: 40 }, (_, i) => Number((20.1 + (i % 5) * 0.01).toFixed(2)));
    values.forEach((v, i) => (s = logic.receive(s, reading(i + 1, v), ctx)));
    s = logic.receive(s, reading(41, 80.7), ctx);
    expect(calls).toHaveLength(1);
    const req = calls[0] as { window: { values: number[] } };
    expect(req.window.values).toEqual([...values, 80.7]);
  });

  it("uses the streaming detector after its warm-up: a spike in a long periodic series scores near 1", () => {
    const logic = createDeviceActor({ threshold: 0.66 });
    const h = harness();
    let s = logic.initial("d1");
    let seed = 1;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let i = 1; i <= 700; i++) {
      const v = i > 600 && i <= 604 ? 100 : 20 + 5 * Math.sin(i / 10) + rnd() * 0.5;
      s = logic.receive(s, reading(i, v), h.ctx);
    }
    const before = Math.max(...h.rows.slice(150, 600).map((r) => r.score as number));
    const during = Math.max(...h.rows.slice(600, 608).map((r) => r.score as number));
    expect(before).toBeLessThan(0.66);
    expect(during).toBeGreaterThan(0.95);
    expect(h.events.filter((e) => e.subject === "shoal.analysis.d1").length).toBeGreaterThanOrEqual(1);
  });

  it("goes offline after the heartbeat timeout and online again on the next reading", () => {
    const logic = createDeviceActor({ heartbeatTimeoutMs: 5_000 });
    const h = harness();
    let s = logic.initial("d1");
    s = logic.receive(s, reading(1, 1), h.ctx);
    expect(h.events.map((e) => (e.data as { kind: string }).kind)).toEqual(["online"]);
    expect(h.timers.get("heartbeat")!.at).toBe(6_000);
    h.advance(5_000);
    s = logic.receive(s, h.timers.get("heartbeat")!.msg, h.ctx);
    s = logic.receive(s, reading(2, 1), h.ctx);
    expect(h.events.map((e) => (e.data as { kind: string }).kind)).toEqual(["online", "offline", "online"]);
    expect(s.online).toBe(true);
  });

  it("waits out the rest of the timeout when a heartbeat timer fires early (kept before a crash, older than the last reading)", () => {
    const logic = createDeviceActor({ heartbeatTimeoutMs: 5_000 });
    const h = harness();
    let s = logic.initial("d1");
    h.advance(9_000); // now 10,000
    s = logic.receive(s, reading(1, 1), h.ctx);
    expect(s.lastSeenS).toBe(10);
    h.advance(2_000); // a stale timer (armed for an earlier reading) fires 2 s after this one
    s = logic.receive(s, { type: "heartbeat-timeout" }, h.ctx);
    expect(s.online).toBe(true);
    expect(h.timers.get("heartbeat")!.at).toBe(15_000);
    h.advance(3_000);
    s = logic.receive(s, h.timers.get("heartbeat")!.msg, h.ctx);
    expect(s.online).toBe(false);
    expect(h.events.map((e) => (e.data as { kind: string; atMs: number }).atMs)).toEqual([10_000, 15_000]);
    // The restored state keeps when the device last reported.
    expect(logic.restore(logic.snapshot(s), "d1").lastSeenS).toBe(10);
  });

  it("restores from a snapshot to a state that scores the same as the original", () => {
    const logic = createDeviceActor();
    const h = harness();
    let a = logic.initial("d1");
    for (let i = 1; i <= 100; i++) a = logic.receive(a, reading(i, Math.sin(i / 3) * 10), h.ctx);
    let b = logic.restore(logic.snapshot(a), "d1");
    expect([b.hwm, b.gaps, b.gapsForgotten]).toEqual([a.hwm, a.gaps, a.gapsForgotten]);
    expect(b.applied).toBe(100);
    const h2 = harness();
    for (let i = 101; i <= 150; i++) {
      a = logic.receive(a, reading(i, Math.sin(i / 3) * 10), h.ctx);
      b = logic.receive(b, reading(i, Math.sin(i / 3) * 10), h2.ctx);
    }
    expect(h2.rows.map((r) => r.score)).toEqual(h.rows.slice(100).map((r) => r.score));
    expect(logic.receive(b, reading(120, 0), h2.ctx).duplicates).toBe(1);
  });
});

describe("device actor with its explanation cache", () => {
  type Call = { service: string; method: string; req: unknown; onReply: (res: unknown) => DeviceMsg; onError: (err: Error) => DeviceMsg };
  function cacheHarness() {
    const h = harness();
    const calls: Call[] = [];
    const ctx: ActorContext<DeviceMsg> = { ...h.ctx, call: (service, method, req, onReply, onError) => calls.push({ service, method, req, onReply: onReply as Call["onReply"], onError }) };
    return { ...h, ctx, calls };
  }
  const explained = { summary: "spike", likelyCause: "sensor", suggestedAction: "check", model: { provider: "llm", model: "gpt", promptVersion: "explain@v1", cached: false, inputTokens: 1, outputTokens: 1, costUsd: 0.002, degraded: false, attempts: 1, signature: "x" } };
  const anomaly = (logic: ReturnType<typeof createDeviceActor>, h: ReturnType<typeof cacheHarness>) => {
    let s = logic.initial("d1");
    for (let i = 1; i <= 50; i++) s = logic.receive(s, reading(i, 20 + (i % 5) * 0.1), h.ctx);
    expect(h.calls).toHaveLength(0); // no call on the per-reading path
    return logic.receive(s, reading(51, 80), h.ctx);
  };

  it("asks the cache first; on a miss asks the gateway and stores its answer", () => {
    const logic = createDeviceActor({ threshold: 0.99, explainCache: true });
    const h = cacheHarness();
    let s = anomaly(logic, h);
    expect(h.calls.map((c) => `${c.service}.${c.method}`)).toEqual(["cache.get"]);
    const key = (h.calls[0]!.req as { key: string }).key;
    expect(key).toMatch(/^t\|[a-c]{8}:-?\d+$/);
    s = logic.receive(s, h.calls[0]!.onReply({ value: null }), h.ctx);
    expect(h.calls.map((c) => `${c.service}.${c.method}`)).toEqual(["cache.get", "gateway.explain"]);
    s = logic.receive(s, h.calls[1]!.onReply(explained), h.ctx);
    expect(h.calls[2]).toMatchObject({ service: "cache", method: "set", req: { key, value: explained } });
    logic.receive(s, h.calls[2]!.onReply({ stored: true }), h.ctx);
    const row = h.other.at(-1)!;
    expect(row).toMatchObject({ seq: 51, metric: "t", summary: "spike", cached: 0, cost_usd: 0.002 });
  });

  it("on a hit emits the explanation straight from the cache, marked cached, without a gateway call", () => {
    const logic = createDeviceActor({ threshold: 0.99, explainCache: true });
    const h = cacheHarness();
    const s = anomaly(logic, h);
    logic.receive(s, h.calls[0]!.onReply({ value: explained }), h.ctx);
    expect(h.calls).toHaveLength(1);
    expect(h.other.at(-1)).toMatchObject({ seq: 51, summary: "spike", cached: 1, cost_usd: 0 });
    expect(h.events.at(-1)!.data).toMatchObject({ kind: "explanation", seq: 51, cached: true });
  });

  it("falls back to the gateway when the cache fails or holds something that is not an explanation", () => {
    const logic = createDeviceActor({ threshold: 0.99, explainCache: true });
    for (const reply of [(c: Call) => c.onError(new Error("redis down")), (c: Call) => c.onReply({ value: { summary: 1 } })]) {
      const h = cacheHarness();
      const s = anomaly(logic, h);
      logic.receive(s, reply(h.calls[0]!), h.ctx);
      expect(h.calls.map((c) => `${c.service}.${c.method}`)).toEqual(["cache.get", "gateway.explain"]);
    }
  });

  it("without explainCache calls the gateway directly, as before", () => {
    const logic = createDeviceActor({ threshold: 0.99 });
    const h = cacheHarness();
    const s = anomaly(logic, h);
    expect(h.calls.map((c) => `${c.service}.${c.method}`)).toEqual(["gateway.explain"]);
    logic.receive(s, h.calls[0]!.onReply(explained), h.ctx);
    expect(h.calls).toHaveLength(1);
    expect(h.other.at(-1)).toMatchObject({ cached: 0, cost_usd: 0.002 });
  });
  it("alert rules change live (configure on the logic): a new rule applies from the next reading; an invalid one changes nothing; removed, its open alert is resolved", () => {
    const logic = createDeviceActor({ explainAnomalies: false });
    const h = harness();
    const transitions = () => h.other.filter((r) => "kind" in r && "version" in r && "alert_id" in r && !("updated_at_ms" in r));
    let s = logic.initial("d1");
    s = logic.receive(s, reading(1, 500), h.ctx);
    expect(transitions()).toHaveLength(0);
    const hot = { id: "hot", kind: "threshold" as const, metric: "t", op: "above" as const, raiseAt: 100, clearAt: 50, severity: "critical" as const, forMs: 0, clearForMs: 0, escalateAfterMs: 0, flap: { windowMs: 60_000, maxChanges: 10 } };
    logic.configure!({ alertRules: [hot] });
    s = logic.receive(s, reading(2, 500), h.ctx);
    expect(transitions().map((r) => [r.alert_id, r.kind, r.severity])).toEqual([["d1/hot/1", "raised", "critical"]]);
    expect(() => logic.configure!({ alertRules: [{ ...hot, clearAt: 200 }] })).toThrow(/clearAt/);
    expect(logic.settings.alertRules).toEqual([hot]);
    logic.configure!({ alertRules: [] });
    logic.receive(s, reading(3, 500), h.ctx);
    expect(transitions().map((r) => [r.alert_id, r.kind, r.state])).toEqual([
      ["d1/hot/1", "raised", "firing"],
      ["d1/hot/1", "resolved", "resolved"],
    ]);
  });
});
