import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { DeviceRow, FleetRow, ReadModel, SeriesQuery } from "../ports/read-model.js";
import { ManualFeed } from "./testing/manual-feed.js";
import { QueryService, Resolution } from "../gen/shoal/v1/query_pb.js";
import { createQueryService } from "./query-service.js";
import { WatchHub } from "./watch-hub.js";
import { FleetHub } from "./fleet-hub.js";
import { SimClock } from "../base/testing/sim-clock.js";

/** Logic of the query service over an in-memory read model (the ClickHouse one: test/integration/query-service.test.ts). */
const NOW = Date.UTC(2026, 11, 4);
const dev = (id: string, lastSeenMs: number, extra: Partial<DeviceRow> = {}): DeviceRow => ({ deviceId: id, firstSeenMs: 1, lastSeenMs, readings: 10, epoch: 0, lastSeq: 10, lastEvent: "", lastEventMs: 0, anomalies: 0, incidents: 0, ...extra });
const fleet = [dev("a-1", NOW - 1000), dev("a-2", NOW - 3_600_000), dev("a-3", NOW - 1000, { lastEvent: "offline", lastEventMs: NOW }), dev("b-1", NOW)];
const seriesAsked: SeriesQuery[] = [];

const readModel: ReadModel = {
  listDevices: async (q) => fleet.filter((d) => d.deviceId.startsWith(q.prefix) && d.deviceId > q.after).slice(0, q.limit),
  getDevice: async (id) => fleet.find((d) => d.deviceId === id),
  deviceMetrics: async () => [],
  deviceEvents: async () => [],
  countReadings: async () => 100_000,
  series: async (q) => {
    seriesAsked.push(q);
    return [{ tsMs: q.fromMs, value: 2, min: 1, max: 3, count: 4, sumSq: 4 * 4 + 2 * 2, score: 0.5, epoch: 0, seq: 0 }];
  },
  analyses: async () => [],
  anomalyWindow: async () => undefined,
  explanations: async () => [],
  values: async () => ({ tsMs: [], values: [] }),
  fleet: async (q): Promise<FleetRow> => ({
    devices: 4,
    online: 2,
    offline: 1,
    silent: 1,
    readingsInRateWindow: 600,
    anomaliesInRateWindow: 2,
    incidentsInRateWindow: 1,
    top: Array.from({ length: q.top }, (_, i) => ({ deviceId: `d-${i}`, anomalies: 200 - i, incidents: 100 - i, maxScore: 0.9, lastAnomalyMs: NOW - i })),
  }),
};

const feed = new ManualFeed();
const impl = createQueryService({ readModel, watch: new WatchHub(feed, { maxWatchers: 2, bufferItems: 10 }), now: () => NOW, offlineAfterMs: 300_000 });

describe("QueryService logic", () => {
  const client = createClient(QueryService, createRouterTransport(({ service }) => service(QueryService, impl)));

  it("pages with an opaque token and marks devices online by last seen and offline events", async () => {
    const p1 = await client.listDevices({ pageSize: 2 });
    expect(p1.devices.map((d) => [d.deviceId, d.online])).toEqual([
      ["a-1", true],
      ["a-2", false],
    ]);
    const p2 = await client.listDevices({ pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.devices.map((d) => [d.deviceId, d.online])).toEqual([
      ["a-3", false],
      ["b-1", true],
    ]);
    expect(p2.nextPageToken).toBe("");
  });

  it("chooses the tier and bucket from the stored count and returns mean and stddev of buckets", async () => {
    const r = await client.listReadings({ deviceId: "a-1", metric: "t", fromMs: BigInt(NOW - 86_400_000), toMs: BigInt(NOW), maxPoints: 500 });
    expect(r.resolution).toBe(Resolution.MINUTE);
    expect(seriesAsked.at(-1)).toMatchObject({ tier: "1m", bucketMs: 180_000, limit: 500 });
    expect(r.points[0]).toMatchObject({ value: 2, min: 1, max: 3, count: 4n });
    expect(r.points[0]!.stddev).toBeCloseTo(Math.sqrt(20 / 4 - 4), 12);
  });

  it("answers FAILED_PRECONDITION for vector searches without a vector store, NOT_FOUND for unknown devices", async () => {
    await expect(client.searchSimilarIncidents({ deviceId: "a-1", tsMs: BigInt(NOW) })).rejects.toMatchObject({ code: Code.FailedPrecondition });
    await expect(client.getDevice({ deviceId: "zz" })).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("hides unexpected failures behind INTERNAL", async () => {
    const broken = createQueryService({ readModel: { ...readModel, listDevices: () => Promise.reject(new TypeError("secret internals")) }, watch: new WatchHub(feed, { maxWatchers: 1, bufferItems: 1 }), now: () => NOW, offlineAfterMs: 1 });
    const c = createClient(QueryService, createRouterTransport(({ service }) => service(QueryService, broken)));
    const e = await c.listDevices({}).then(
      () => new ConnectError("no error"),
      (x: unknown) => ConnectError.from(x),
    );
    expect(e.code).toBe(Code.Internal);
    expect(e.rawMessage).not.toMatch(/secret/);
  });

  it("routes a device's rows to its watcher and cuts off one whose queue overflows", async () => {
    const it1 = client.watchDevice({ deviceId: "a-1" })[Symbol.asyncIterator]();
    const first = it1.next();
    await new Promise((r) => setTimeout(r, 10));
    const row = (device: string, i: number) => ({ device_id: device, seq: i, ts_ms: NOW, metric_names: ["t"], metric_values: [i], metric_scores: [0], score: 0 });
    // The feed is asked only for the watched devices' rows of the tables a watcher is sent.
    expect([...feed.only!.tables].sort()).toEqual(["analyses", "device_events", "readings"]);
    expect([feed.only!.devices("a-1"), feed.only!.devices("b-1")]).toEqual([true, false]);
    feed.listener!("readings", [row("b-1", 0), row("a-1", 0)]);
    expect((await first).value).toMatchObject({ item: { case: "reading", value: { seq: 0n, values: { t: 0 } } } });
    for (let i = 1; i <= 11; i++) feed.listener!("readings", [row("a-1", i)]);
    const drained: unknown[] = [];
    await expect(
      (async () => {
        for (let r = await it1.next(); !r.done; r = await it1.next()) drained.push(r.value);
      })(),
    ).rejects.toMatchObject({ code: Code.ResourceExhausted });
    expect(feed.listener).toBeUndefined();
  });

  it("refuses a coalescing wait above 1 s", async () => {
    const it1 = client.watchDevice({ deviceId: "a-1", coalesceMs: 1001 })[Symbol.asyncIterator]();
    await expect(it1.next()).rejects.toMatchObject({ code: Code.InvalidArgument, rawMessage: "coalesce_ms: must be between 0 and 1000" });
  });
});

describe("WatchFleet", () => {
  const fleetHub = new FleetHub({ fleet: readModel.fleet, clock: new SimClock(NOW) }, { intervalMs: 2000, offlineAfterMs: 300_000, rateWindowMs: 60_000, anomalyWindowMs: 3_600_000, maxWatchers: 4 });
  const withFleet = createQueryService({ readModel, watch: new WatchHub(feed, { maxWatchers: 1, bufferItems: 1 }), fleet: fleetHub, now: () => NOW, offlineAfterMs: 300_000 });
  const client = createClient(QueryService, createRouterTransport(({ service }) => service(QueryService, withFleet)));
  /** The first response, then the call is cancelled (the in-memory transport ends the server's side on a cancel, not on a break). */
  const first = async (c: typeof client, top: number) => {
    const ctrl = new AbortController();
    for await (const r of c.watchFleet({ top }, { signal: ctrl.signal })) {
      ctrl.abort();
      return r;
    }
    throw new Error("the stream ended without a response");
  };

  it("streams the fleet's figures with the top N devices asked for (0 means 10)", async () => {
    const r = await first(client, 3);
    expect(r).toMatchObject({ atMs: BigInt(NOW), devices: 4n, online: 2n, offline: 1n, silent: 1n, ingestPerS: 10, anomaliesPerMin: 2, incidentsPerMin: 1, rateWindowMs: 60_000n, anomalyWindowMs: 3_600_000n });
    expect(r.top.map((d) => d.deviceId)).toEqual(["d-0", "d-1", "d-2"]);
    expect(r.top[1]).toMatchObject({ anomalies: 199n, incidents: 99n });
    expect((await first(client, 0)).top).toHaveLength(10);
    expect((await first(client, 100)).top).toHaveLength(100);
  });

  it("answers INVALID_ARGUMENT for top above 100", async () => {
    await expect(first(client, 101)).rejects.toMatchObject({ code: Code.InvalidArgument, rawMessage: "top: must be between 1 and 100 (0 means 10)" });
  });

  it("answers FAILED_PRECONDITION without a fleet hub", async () => {
    await expect(first(createClient(QueryService, createRouterTransport(({ service }) => service(QueryService, impl))), 0)).rejects.toMatchObject({ code: Code.FailedPrecondition });
  });

  it("leaves the hub when the call is cancelled", async () => {
    await first(client, 1);
    await vi.waitFor(() => expect(fleetHub.watchers).toBe(0));
  });
});

describe("the same implementation over Connect and gRPC-web (Connect's node adapter, HTTP/1.1)", () => {
  let server: Server;
  let baseUrl: string;
  beforeAll(async () => {
    server = createServer(connectNodeAdapter({ routes: (router) => router.service(QueryService, impl) }));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("answers Connect and gRPC-web clients alike", async () => {
    for (const transport of [createConnectTransport({ baseUrl, httpVersion: "1.1" }), createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })]) {
      const c = createClient(QueryService, transport);
      expect((await c.listDevices({ idPrefix: "a-" })).devices.map((d) => d.deviceId)).toEqual(["a-1", "a-2", "a-3"]);
      await expect(c.listDevices({ idPrefix: "a%" })).rejects.toMatchObject({ code: Code.InvalidArgument });
    }
  });
});
