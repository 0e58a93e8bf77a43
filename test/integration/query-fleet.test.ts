import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startClickHouse, type ServiceHandle } from "../harness/index.js";
import { createClickHouseClient, migrate } from "../../src/adapters/clickhouse/index.js";
import { createClickHouseReadModel } from "../../src/adapters/clickhouse/read-model.js";
import { SimClock } from "../../src/base/testing/sim-clock.js";
import { QueryService, type WatchFleetResponse } from "../../src/gen/shoal/v1/query_pb.js";
import { createQueryService, FleetHub, WatchHub } from "../../src/query/index.js";
import type { RowFeed } from "../../src/ports/row-feed.js";
import { insertReadings } from "../support/readings.js";

/**
 * WatchFleet on a real ClickHouse (device_status filled by the migrations' views): device states,
 * rates and the top list for a small fleet stored around a fixed T, through the fleet hub (on a
 * simulated clock at T) and the query service.
 */
const T = Date.UTC(2026, 10, 2, 12);
const S = 1000;
const MIN = 60 * S;
const OFFLINE_AFTER = 5 * MIN;
const RATE_WINDOW = MIN;
const ANOMALY_WINDOW = 60 * MIN;

type Reading = { device_id: string; epoch: number; seq: number; ts_ms: number };
const readings: Reading[] = [];
const seqs = new Map<string, number>();
const reading = (id: string, tsMs: number) => {
  const seq = (seqs.get(id) ?? 0) + 1;
  seqs.set(id, seq);
  readings.push({ device_id: id, epoch: 1, seq, ts_ms: tsMs });
};
const every = (id: string, fromMs: number, toMs: number, stepMs: number) => {
  for (let t = fromMs; t <= toMs; t += stepMs) reading(id, t);
};

// Online: heard from within 5 min. f-on-0..4 every 5 s for the last 2 min (12 readings each in [T-60s, T)).
for (let d = 0; d < 5; d++) every(`f-on-${d}`, T - 2 * MIN + d * S, T - 5 * S + d * S, 5 * S);
// Back after an offline event: online.
reading("f-back", T - 5 * S);
// Silent: not heard from for 10 min, never reported offline.
for (let d = 0; d < 3; d++) every(`f-silent-${d}`, T - 20 * MIN, T - 10 * MIN, MIN);
// Offline: reported offline after their last reading, even one heard from a minute ago.
every("f-off-0", T - 30 * MIN, T - 20 * MIN, MIN);
every("f-off-1", T - 30 * MIN, T - 20 * MIN, MIN);
reading("f-off-recent", T - MIN);
const events = [
  { device_id: "f-off-0", kind: "offline", epoch: 1, at_ms: T - 15 * MIN, last_seq: 11, detail: "no reading for 5m" },
  { device_id: "f-off-1", kind: "offline", epoch: 1, at_ms: T - 15 * MIN, last_seq: 11, detail: "no reading for 5m" },
  { device_id: "f-off-recent", kind: "offline", epoch: 1, at_ms: T - 30 * S, last_seq: 1, detail: "disconnected" },
  { device_id: "f-back", kind: "offline", epoch: 1, at_ms: T - 20 * MIN, last_seq: 0, detail: "no reading for 5m" },
  // Known by an event only (it connected, sent nothing): silent.
  { device_id: "f-events-only", kind: "online", epoch: 1, at_ms: T - MIN, last_seq: 0, detail: "connected" },
];
const ONLINE = 6; // f-on-0..4, f-back
const OFFLINE = 3;
const SILENT = 4; // f-silent-0..2, f-events-only

const analysis = (id: string, seq: number, tsMs: number, score: number, metric = "temp") => ({
  device_id: id,
  epoch: 1,
  seq,
  ts_ms: tsMs,
  metric,
  score,
  summary: "spike",
  likely_cause: "",
  suggested_action: "",
  provider: "local",
  model: "local",
  prompt_version: "explain@v1",
  cached: 0,
  degraded: 0,
  cost_usd: 0,
});
const analyses = [
  analysis("f-silent-0", 1, T - 50 * MIN, 0.92),
  analysis("f-silent-0", 2, T - 40 * MIN, 0.97),
  analysis("f-silent-0", 3, T - 12 * MIN, 0.9),
  analysis("f-on-0", 1, T - 50 * MIN, 0.91),
  analysis("f-on-0", 2, T - 10 * MIN, 0.95),
  analysis("f-on-0", 3, T - 20 * S, 0.93), // in the rate window
  analysis("f-on-1", 1, T - 30 * MIN, 0.99),
  analysis("f-on-2", 10, T - 5 * MIN, 0.96),
  analysis("f-on-2", 11, T - 10 * S, 0.94), // in the rate window, stored twice below
  // Two hours ago: outside the anomaly window however many.
  ...[1, 2, 3, 4, 5].map((k) => analysis("f-off-0", k, T - 120 * MIN + k * S, 0.99)),
  // One incident of four anomalies: its first, explained, before the rate window; three more
  // metrics' a few readings later, in it, joined (no explanation of their own, the incident named).
  analysis("f-on-3", 20, T - 70 * S, 0.98, "outlet"),
  ...[21, 22, 23].map((seq, k) => ({ ...analysis("f-on-3", seq, T - 50 * S + k * S, 0.92, ["inlet", "fan", "valve"][k]), summary: "", provider: "shoal", model: "incident", incident_epoch: 1, incident_seq: 20, incident_ts_ms: T - 70 * S })),
];
const duplicate = analysis("f-on-2", 11, T - 10 * S, 0.94);

const inWindow = (fromMs: number, toMs: number) => readings.filter((r) => r.ts_ms >= fromMs && r.ts_ms < toMs).length;

const noFeed: RowFeed = { subscribe: () => () => {} };

describe("WatchFleet on real ClickHouse", () => {
  let ch: ServiceHandle;
  const o = () => ({ url: ch.url, database: "fleet_test", username: "default", password: "" });
  let readModel: ReturnType<typeof createClickHouseReadModel>;
  const clock = new SimClock(T);
  const errors: unknown[] = [];
  let hub: FleetHub;

  beforeAll(async () => {
    ch = await startClickHouse();
    await migrate(o());
    const c = createClickHouseClient(o());
    const full = readings.map((r) => ({ ...r, metric_names: ["temp", "hum"], metric_values: [21, 50], metric_scores: [0.1, 0.1], score: 0.1, log: "", stream_seq: 0 }));
    // In three inserts (three parts of readings and of device_status, as a live sink leaves them).
    for (const part of [full.slice(0, 40), full.slice(40, 90), full.slice(90)]) await insertReadings(c, part, "JSONEachRow");
    await c.insert({ table: "device_events", values: events, format: "JSONEachRow" });
    await c.insert({ table: "analyses", values: analyses, format: "JSONEachRow" });
    await c.insert({ table: "analyses", values: [duplicate], format: "JSONEachRow" });
    await c.close();
    readModel = createClickHouseReadModel(o(), { maxExecutionMs: 10_000 });
    hub = new FleetHub(
      { fleet: (q, signal) => readModel.fleet(q, signal), clock, onError: (e) => errors.push(e) },
      { intervalMs: 2 * S, offlineAfterMs: OFFLINE_AFTER, rateWindowMs: RATE_WINDOW, anomalyWindowMs: ANOMALY_WINDOW, maxWatchers: 10 },
    );
  }, 120_000);

  afterAll(async () => {
    await hub?.close();
    await readModel?.close();
    await ch?.cleanup();
  });

  it("ReadModel.fleet: online/offline/silent by ListDevices' rule, readings and anomalies in the rate window, the top list", async () => {
    const f = await readModel.fleet({ nowMs: T, offlineAfterMs: OFFLINE_AFTER, rateWindowMs: RATE_WINDOW, anomalyWindowMs: ANOMALY_WINDOW, top: 3 });
    expect(f).toMatchObject({ devices: ONLINE + OFFLINE + SILENT, online: ONLINE, offline: OFFLINE, silent: SILENT });
    expect(f.readingsInRateWindow).toBe(inWindow(T - RATE_WINDOW, T));
    expect(f.readingsInRateWindow).toBe(5 * 12 + 1 + 1); // f-on-* 12 each, f-back, f-off-recent (at T-60s)
    // The duplicate analyses row counts once; f-on-3's three joined anomalies are one incident,
    // opened before the window.
    expect(f.anomaliesInRateWindow).toBe(5);
    expect(f.incidentsInRateWindow).toBe(3);
    // Most incidents first: f-on-3's four anomalies are one incident.
    expect(f.top).toEqual([
      { deviceId: "f-silent-0", anomalies: 3, incidents: 3, maxScore: 0.97, lastAnomalyMs: T - 12 * MIN },
      { deviceId: "f-on-0", anomalies: 3, incidents: 3, maxScore: 0.95, lastAnomalyMs: T - 20 * S },
      { deviceId: "f-on-2", anomalies: 2, incidents: 2, maxScore: 0.96, lastAnomalyMs: T - 10 * S },
    ]);
    // An hour later every anomaly left the window and no device was heard from within 5 min.
    const later = await readModel.fleet({ nowMs: T + ANOMALY_WINDOW, offlineAfterMs: OFFLINE_AFTER, rateWindowMs: RATE_WINDOW, anomalyWindowMs: ANOMALY_WINDOW, top: 10 });
    expect(later).toMatchObject({ online: 0, offline: OFFLINE, silent: ONLINE + SILENT, readingsInRateWindow: 0, anomaliesInRateWindow: 0, incidentsInRateWindow: 0, top: [] });
  });

  it("WatchFleet streams the figures as rates, with the top N asked for, and the next interval's snapshot", async () => {
    const impl = createQueryService({ readModel, watch: new WatchHub(noFeed, { maxWatchers: 1, bufferItems: 1 }), fleet: hub, now: () => clock.now(), offlineAfterMs: OFFLINE_AFTER });
    const client = createClient(QueryService, createRouterTransport(({ service }) => service(QueryService, impl)));
    const ctrl = new AbortController();
    const got: WatchFleetResponse[] = [];
    const consumer = (async () => {
      for await (const r of client.watchFleet({ top: 0 }, { signal: ctrl.signal })) got.push(r);
    })().catch((e: unknown) => e);
    await vi.waitFor(() => expect(got).toHaveLength(1), { timeout: 15_000 });
    const r = got[0]!;
    expect(r).toMatchObject({ atMs: BigInt(T), devices: BigInt(ONLINE + OFFLINE + SILENT), online: BigInt(ONLINE), offline: BigInt(OFFLINE), silent: BigInt(SILENT), rateWindowMs: BigInt(RATE_WINDOW), anomalyWindowMs: BigInt(ANOMALY_WINDOW) });
    expect(r.ingestPerS).toBeCloseTo(inWindow(T - RATE_WINDOW, T) / 60, 12);
    expect(r.anomaliesPerMin).toBe(5);
    expect(r.incidentsPerMin).toBe(3);
    expect(r.top.map((d) => [d.deviceId, Number(d.incidents), Number(d.anomalies)])).toEqual([
      ["f-silent-0", 3, 3],
      ["f-on-0", 3, 3],
      ["f-on-2", 2, 2],
      ["f-on-3", 1, 4],
      ["f-on-1", 1, 1],
    ]);
    await expect(
      (async () => {
        for await (const x of client.watchFleet({ top: 101 })) return x;
      })(),
    ).rejects.toMatchObject({ code: Code.InvalidArgument });

    // New readings stored; the next interval's snapshot counts them (the window moved by 2 s too).
    const c = createClickHouseClient(o());
    const before = readings.length;
    every("f-on-0", T + 100, T + 1900, 100);
    await insertReadings(
      c,
      readings.slice(before).map((x) => ({ ...x, metric_names: ["temp"], metric_values: [22], metric_scores: [0], score: 0, log: "", stream_seq: 0 })),
      "JSONEachRow",
    );
    await c.close();
    await clock.advance(2 * S);
    await vi.waitFor(() => expect(got).toHaveLength(2), { timeout: 15_000 });
    expect(got[1]!.atMs).toBe(BigInt(T + 2 * S));
    expect(got[1]!.ingestPerS).toBeCloseTo(inWindow(T + 2 * S - RATE_WINDOW, T + 2 * S) / 60, 12);
    expect(got[1]!.ingestPerS).toBeGreaterThan(r.ingestPerS);
    expect(hub.computations).toBe(2);
    expect(errors).toEqual([]);

    ctrl.abort();
    await consumer;
    await vi.waitFor(() => expect(hub.watchers).toBe(0));
  });
});
