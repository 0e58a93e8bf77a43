import { create, type DescMessage } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { service as healthService } from "grpc-health-check";
import { pythonClient } from "../support/python-client.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClickHouse, startNats, type ServiceHandle } from "../harness/index.js";
import { createClickHouseClient, migrate } from "../../src/adapters/clickhouse/index.js";
import { createJetStreamRowLog } from "../../src/adapters/nats/row-log.js";
import { RowBinaryWriter } from "../../src/domain/row-binary.js";
import { READINGS_SCHEMA, READINGS_TABLE } from "../../src/domain/tables.js";
import { grpcServiceDefinition } from "../../src/grpc/index.js";
import { QueryService, Resolution, type ListDevicesResponse, type ListReadingsResponse, type GetDeviceResponse, type ListAnalysesResponse, type WatchDeviceResponse } from "../../src/gen/shoal/v1/query_pb.js";
import { startQueryRole, type QueryRole } from "../../src/cli/roles/query-role.js";
import { startGatewayRole, type GatewayRole } from "../../src/cli/gateway.command.js";
import { EmbeddedVectorStore } from "../../src/adapters/vectors/index.js";
import { VectorIndexer } from "../../src/vectors/indexer.js";
import { windowFeatures } from "../../src/domain/window-features.js";
import type { SearchSimilarIncidentsResponse, SearchTextResponse } from "../../src/gen/shoal/v1/query_pb.js";
import { rmSync } from "node:fs";
import { pipelineConfig, quietLogger, waitFor } from "../support/pipeline.js";
import { insertReadings } from "../support/readings.js";
import type { Row } from "../../src/ports/row-sink.js";

/**
 * shoal.v1.QueryService of the query role on real ClickHouse (rollups by the migrations' views)
 * and real NATS (WatchDevice from the row log's subjects), called by a plain @grpc/grpc-js client.
 */
const T0 = Date.UTC(2026, 10, 1); // 2026-11-01, 10 s readings for 3 h
const STEP = 10_000;
const N = 1080;
const DEVICES = ["q-a-0", "q-a-1", "q-a-2", "q-a-3", "q-a-4", "q-b-0", "q-b-1", "q-b-2"];
const temp = (d: number, i: number) => 20 + d + Math.sin(i / 7) * 3;

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void;

describe("QueryService over gRPC (real ClickHouse and NATS)", () => {
  let ch: ServiceHandle;
  let nats: ServiceHandle;
  let nc: NatsConnection;
  let role: QueryRole;
  let gateway: GatewayRole;
  let store: EmbeddedVectorStore;
  const vdir = mkdtempSync(join(tmpdir(), "shoal-qvec-"));
  let client: grpc.Client & Record<string, Unary & ((req: unknown, md?: grpc.Metadata) => grpc.ClientReadableStream<unknown>)>;
  const database = "query_test";

  /** The request as the method's message (protobuf-es serialises messages made by `create`). */
  const msg = (method: string, req: unknown) => create(QueryService.methods.find((m) => m.name === method)!.input as DescMessage, req as never);
  const call = <T>(method: string, req: unknown, md = new grpc.Metadata()) =>
    new Promise<T>((resolve, reject) => (client[method] as Unary).call(client, msg(method, req), md, { deadline: Date.now() + 15_000 }, (e, r) => (e ? reject(e) : resolve(r as T))));
  const fails = async (method: string, req: unknown) => {
    try {
      await call(method, req);
    } catch (e) {
      return e as grpc.ServiceError;
    }
    throw new Error(`${method} did not fail`);
  };

  beforeAll(async () => {
    [ch, nats] = await Promise.all([startClickHouse(), startNats()]);
    const o = { url: ch.url, database, username: "default", password: "" };
    await migrate(o);
    const c = createClickHouseClient(o);
    const rows: Row[] = [];
    DEVICES.forEach((id, d) => {
      for (let i = 0; i < N; i++) {
        rows.push({ device_id: id, epoch: 0, seq: i + 1, ts_ms: T0 + i * STEP, metric_names: ["temp", "hum"], metric_values: [temp(d, i), 50], metric_scores: [i === 500 ? 0.99 : 0.1, 0.05], score: i === 500 ? 0.99 : 0.1, log: "", stream_seq: i + 1 });
      }
    });
    // A live device, heard from now; and a device whose first 50 readings were stored twice (a replay).
    rows.push({ device_id: "q-live", epoch: 2, seq: 7, ts_ms: Date.now(), metric_names: ["temp"], metric_values: [21], metric_scores: [0], score: 0, log: "", stream_seq: 1 });
    await insertReadings(c, rows, "JSONEachRow");
    await insertReadings(c, rows.slice(0, 50), "JSONEachRow");
    await c.insert({
      table: "analyses",
      values: [0, 1, 2].map((k) => ({ device_id: "q-a-1", epoch: 0, seq: 501 + k, ts_ms: T0 + (500 + k) * STEP, metric: "temp", score: 0.95 + k / 100, summary: `temp spiked ${k}`, likely_cause: "a burst", suggested_action: "check", provider: "local", model: "local", prompt_version: "explain@v1", cached: 0, degraded: k === 2 ? 1 : 0, cost_usd: 0 })),
      format: "JSONEachRow",
    });
    // An incident of two anomalies: a per-metric one, explained (written as before migration 19:
    // its incident is its own by the column default), and a device-level one that joined it.
    await c.insert({
      table: "analyses",
      values: [
        { device_id: "q-j-1", epoch: 3, seq: 801, ts_ms: T0 + 800 * STEP, metric: "outlet", score: 0.93, summary: "outlet stepped up", likely_cause: "a valve", suggested_action: "check", provider: "local", model: "local", prompt_version: "explain@v1", cached: 0, degraded: 0, cost_usd: 0 },
        { device_id: "q-j-1", epoch: 3, seq: 807, ts_ms: T0 + 806 * STEP, metric: "inlet", score: 0.92, summary: "", likely_cause: "", suggested_action: "", provider: "shoal", model: "incident", prompt_version: "", cached: 0, degraded: 0, cost_usd: 0, reasons: '[{"metric":"inlet","term":"joint","score":0.92}]', incident_epoch: 3, incident_seq: 801, incident_ts_ms: T0 + 800 * STEP },
      ],
      format: "JSONEachRow",
    });
    // Anomaly windows of three shapes on several devices (the actor writes these; ADR 0015), and
    // explanations of a few of them; the vector indexer puts both into the (real, embedded) store.
    const shapeOf = (kind: number, k: number) =>
      Array.from(windowFeatures(Array.from({ length: 64 }, (_, i) => Math.sin((i + k) / 5) * 0.3 + (kind === 0 ? (i === 47 ? 6 : 0) : kind === 1 ? (i >= 47 ? 4 : 0) : i >= 47 ? Math.sin(i * 2.3) * 5 : 0)))!);
    const windowRows = Array.from({ length: 30 }, (_, j) => ({ device_id: DEVICES[j % DEVICES.length]!, epoch: 0, seq: 600 + j, ts_ms: T0 + (600 + j) * STEP, metric: "temp", score: 0.95, vector: shapeOf(j % 3, j) }));
    windowRows.push(...[0, 1, 2].map((k) => ({ device_id: "q-a-1", epoch: 0, seq: 501 + k, ts_ms: T0 + (500 + k) * STEP, metric: "temp", score: 0.95 + k / 100, vector: shapeOf(1, 100 + k) })));
    await c.insert({ table: "anomaly_windows", values: windowRows, format: "JSONEachRow" });
    const texts = [
      ["q-b-0", 700, "humidity fell to 12 after a door was left open", "a dip", "close the door"],
      ["q-b-1", 701, "pressure stuck at 3.1 bar for an hour", "a frozen sensor", "restart the device"],
      ["q-b-2", 702, "vibration rose sharply during the night shift", "a loose mount", "tighten the mount"],
    ].map(([d, seq, summary, cause, action]) => ({ device_id: d, epoch: 0, seq, ts_ms: T0 + Number(seq) * STEP, metric: "x", score: 0.96, summary, likely_cause: cause, suggested_action: action, provider: "local", model: "local", prompt_version: "explain@v1", cached: 0, degraded: 0, cost_usd: 0 }));
    await c.insert({ table: "analyses", values: texts, format: "JSONEachRow" });
    await c.insert({ table: "device_events", values: [{ device_id: "q-a-2", kind: "offline", epoch: 0, at_ms: T0 + N * STEP + 60_000, last_seq: N, detail: "no reading for 1m" }], format: "JSONEachRow" });
    await c.close();

    nc = await connect({ servers: nats.url });
    const cfg = pipelineConfig({ nats: nats.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url }, { SHOAL__CLICKHOUSE__DATABASE: database, SHOAL__QUERY__PORT: "0", SHOAL__QUERY__WATCHBUFFER: "50" });
    gateway = await startGatewayRole({ ...cfg.gateway, listen: { ...cfg.gateway.listen, port: 0 } }, { env: {} });
    store = new EmbeddedVectorStore({ dir: vdir });
    await store.open();
    const indexer = new VectorIndexer({ store, embed: (t) => Promise.all(t.map(async (text) => (await gateway.gateway.embed({ text })).vector)), indexLogs: false });
    await indexer.handle({ table: "anomaly_windows", rows: windowRows, atMs: 0 });
    const analysesRows = [0, 1, 2].map((k) => ({ device_id: "q-a-1", epoch: 0, seq: 501 + k, ts_ms: T0 + (500 + k) * STEP, metric: "temp", score: 0.95 + k / 100, summary: `temp spiked ${k}`, likely_cause: "a burst", suggested_action: "check" }));
    await indexer.handle({ table: "analyses", rows: [...analysesRows, ...texts], atMs: 0 });
    role = await startQueryRole(cfg, quietLogger("query"), { nc, gateway: gateway.gateway, vectors: store });
    const Ctor = grpc.makeGenericClientConstructor(grpcServiceDefinition(QueryService), "QueryService");
    client = new Ctor(role.address, grpc.credentials.createInsecure()) as typeof client;
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await role?.close();
    await store?.close();
    await gateway?.close();
    rmSync(vdir, { recursive: true, force: true });
    await nc?.close();
    await Promise.all([ch?.cleanup(), nats?.cleanup()]);
  });

  it("ListDevices pages through the fleet in id order, filtered by prefix", async () => {
    const first = await call<ListDevicesResponse>("ListDevices", { idPrefix: "q-a-", pageSize: 3 });
    expect(first.devices.map((d) => d.deviceId)).toEqual(["q-a-0", "q-a-1", "q-a-2"]);
    expect(first.nextPageToken).not.toBe("");
    const second = await call<ListDevicesResponse>("ListDevices", { idPrefix: "q-a-", pageSize: 3, pageToken: first.nextPageToken });
    expect(second.devices.map((d) => d.deviceId)).toEqual(["q-a-3", "q-a-4"]);
    expect(second.nextPageToken).toBe("");
    const all = await call<ListDevicesResponse>("ListDevices", {});
    expect(all.devices).toHaveLength(DEVICES.length + 1);
    const a0 = all.devices.find((d) => d.deviceId === "q-a-0")!;
    expect([Number(a0.firstSeenMs), Number(a0.lastSeenMs), Number(a0.lastSeq), a0.online]).toEqual([T0, T0 + (N - 1) * STEP, N, false]);
    expect(all.devices.find((d) => d.deviceId === "q-live")).toMatchObject({ online: true, epoch: 2n, lastSeq: 7n });
    expect(all.devices.find((d) => d.deviceId === "q-a-2")).toMatchObject({ lastEvent: "offline", online: false });
  });

  it("counts anomalies (analyses) and their incidents in the window asked for", async () => {
    const old = await call<ListDevicesResponse>("ListDevices", { idPrefix: "q-a-1", anomalyWindowMs: BigInt(Date.now() - T0 + 86_400_000) });
    expect(old.devices[0]!).toMatchObject({ anomalies: 3n, incidents: 3n });
    const recent = await call<ListDevicesResponse>("ListDevices", { idPrefix: "q-a-1" });
    expect(recent.devices[0]!.anomalies).toBe(0n);
  });

  it("GetDevice: status, metrics of its last hour, recent events; NOT_FOUND for a device never stored", async () => {
    const d = await call<GetDeviceResponse>("GetDevice", { deviceId: "q-a-2" });
    expect(d.device?.deviceId).toBe("q-a-2");
    expect(d.metrics.map((m) => m.name)).toEqual(["hum", "temp"]);
    const t = d.metrics.find((m) => m.name === "temp")!;
    expect(Number(t.count)).toBe(360);
    expect(t.lastValue).toBeCloseTo(temp(2, N - 1), 9);
    expect(d.recentEvents.map((e) => e.kind)).toEqual(["offline"]);
    const e = await fails("GetDevice", { deviceId: "never-seen" });
    expect(e.code).toBe(grpc.status.NOT_FOUND);
  });

  it("ListReadings serves raw readings when they fit, deduplicated (a replayed insert counts once)", async () => {
    const r = await call<ListReadingsResponse>("ListReadings", { deviceId: "q-a-0", metric: "temp", fromMs: BigInt(T0), toMs: BigInt(T0 + 600_000), maxPoints: 1000 });
    expect(r.resolution).toBe(Resolution.RAW);
    expect(r.points).toHaveLength(60);
    expect(r.points.map((p) => Number(p.seq))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(r.points[7]!.value).toBeCloseTo(temp(0, 7), 9);
  });

  it("ListReadings serves a long range from the 1-minute rollup in buckets that fit max_points", async () => {
    const r = await call<ListReadingsResponse>("ListReadings", { deviceId: "q-a-3", metric: "temp", fromMs: BigInt(T0), toMs: BigInt(T0 + N * STEP), maxPoints: 100 });
    expect(r.resolution).toBe(Resolution.MINUTE);
    expect(Number(r.bucketMs)).toBe(120_000);
    expect(r.points).toHaveLength(90);
    const p = r.points[10]!;
    const vals = Array.from({ length: 12 }, (_, k) => temp(3, 120 + k));
    expect(Number(p.tsMs)).toBe(T0 + 10 * 120_000);
    expect(Number(p.count)).toBe(12);
    expect(p.value).toBeCloseTo(vals.reduce((a, b) => a + b, 0) / 12, 9);
    expect(p.min).toBeCloseTo(Math.min(...vals), 9);
    expect(p.max).toBeCloseTo(Math.max(...vals), 9);
    expect(r.points.reduce((a, x) => a + Number(x.count), 0)).toBe(N);
  });

  it("ListReadings serves months from the hourly rollup, never more than max_points", async () => {
    const r = await call<ListReadingsResponse>("ListReadings", { deviceId: "q-a-3", metric: "temp", fromMs: BigInt(T0 - 30 * 86_400_000), toMs: BigInt(T0 + 30 * 86_400_000), maxPoints: 100 });
    expect(r.resolution).toBe(Resolution.HOUR);
    expect(r.points.length).toBeLessThanOrEqual(100);
    expect(r.points.reduce((a, x) => a + Number(x.count), 0)).toBe(N);
    expect(Math.max(...r.points.map((x) => x.score))).toBeCloseTo(0.99, 9);
  });

  it("ListAnalyses: newest first, by device or fleet-wide, filtered by score", async () => {
    const range = { fromMs: BigInt(T0), toMs: BigInt(T0 + N * STEP) };
    const mine = await call<ListAnalysesResponse>("ListAnalyses", { deviceId: "q-a-1", ...range });
    expect(mine.analyses.map((a) => Number(a.seq))).toEqual([503, 502, 501]);
    expect(mine.analyses[0]).toMatchObject({ summary: "temp spiked 2", degraded: true, metric: "temp" });
    const high = await call<ListAnalysesResponse>("ListAnalyses", { ...range, minScore: 0.965 });
    expect(high.analyses.map((a) => Number(a.seq))).toEqual([503]);
  });

  it("ListAnalyses: an anomaly that joined an open incident names the anomaly that opened it; others name themselves", async () => {
    const got = await call<ListAnalysesResponse>("ListAnalyses", { deviceId: "q-j-1", fromMs: BigInt(T0), toMs: BigInt(T0 + N * STEP) });
    expect(got.analyses.map((a) => [Number(a.seq), a.provider, a.summary, Number(a.incidentEpoch), Number(a.incidentSeq), a.reasons.map((r) => r.term)])).toEqual([
      [807, "shoal", "", 3, 801, ["joint"]],
      [801, "local", "outlet stepped up", 3, 801, []],
    ]);
  });

  it("rejects bad arguments with INVALID_ARGUMENT naming the field", async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ["ListReadings", { deviceId: "x' OR 1=1 --", metric: "temp", fromMs: BigInt(T0), toMs: BigInt(T0 + 1) }, /device_id: must match/],
      ["ListReadings", { deviceId: "q-a-0", metric: "", fromMs: BigInt(T0), toMs: BigInt(T0 + 1) }, /metric: required/],
      ["ListReadings", { deviceId: "q-a-0", metric: "temp", fromMs: BigInt(T0), toMs: BigInt(T0) }, /to_ms: must be after from_ms/],
      ["ListReadings", { deviceId: "q-a-0", metric: "temp", fromMs: 5n, toMs: BigInt(T0) }, /from_ms: must be ms since the epoch/],
      ["ListReadings", { deviceId: "q-a-0", metric: "temp", fromMs: BigInt(T0), toMs: BigInt(T0 + 1), maxPoints: 10_001 }, /max_points: must be between 1 and 10000/],
      ["ListDevices", { pageSize: 5000 }, /page_size/],
      ["ListDevices", { idPrefix: "a%" }, /id_prefix/],
      ["ListDevices", { pageToken: "bm9wZQ" }, /page_token/],
      ["ListAnalyses", { fromMs: BigInt(T0), toMs: BigInt(T0 + 1), minScore: 2 }, /min_score/],
      ["SearchText", { query: "" }, /query: required/],
      ["SearchText", { query: "x", kinds: ["poem"] }, /kinds/],
      ["SearchSimilarIncidents", { deviceId: "q-a-1", tsMs: 5n }, /ts_ms/],
      ["SearchSimilarIncidents", { deviceId: "q-a-1", metric: "temp", windowFromMs: BigInt(T0 + 10), windowToMs: BigInt(T0) }, /window_to_ms/],
    ];
    for (const [method, req, reason] of cases) {
      const e = await fails(method, req);
      expect(e.code, `${method} ${JSON.stringify(req, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e.details).toMatch(reason);
    }
  });

  it("SearchSimilarIncidents: the stored windows nearest in shape to an anomaly's, itself left out, with their explanations", async () => {
    const r = await call<SearchSimilarIncidentsResponse>("SearchSimilarIncidents", { deviceId: "q-a-1", tsMs: BigInt(T0 + 503 * STEP), k: 5 });
    expect(r.incidents).toHaveLength(5);
    // The anchor is q-a-1's newest anomaly (seq 503, a level shift): all five nearest are level
    // shifts (its two siblings 501 and 502, and seq 600 + j with j % 3 = 1), itself left out.
    const seqs = r.incidents.map((i) => Number(i.seq));
    expect(seqs).toEqual(expect.arrayContaining([501, 502]));
    expect(seqs).not.toContain(503);
    expect(seqs.every((q) => q < 600 || (q - 600) % 3 === 1)).toBe(true);
    expect(r.incidents.find((i) => Number(i.seq) === 502)!.summary).toBe("temp spiked 1");
    const others = await call<SearchSimilarIncidentsResponse>("SearchSimilarIncidents", { deviceId: "q-a-1", tsMs: BigInt(T0 + 503 * STEP), k: 5, otherDevicesOnly: true });
    expect(others.incidents.every((i) => i.deviceId !== "q-a-1")).toBe(true);
    const e = await fails("SearchSimilarIncidents", { deviceId: "q-b-0", tsMs: BigInt(T0 + 10 * STEP) });
    expect(e.code).toBe(grpc.status.NOT_FOUND);
  });

  it("SearchSimilarIncidents from any window of a metric (computed from the stored readings)", async () => {
    const r = await call<SearchSimilarIncidentsResponse>("SearchSimilarIncidents", { deviceId: "q-a-3", metric: "temp", windowFromMs: BigInt(T0), windowToMs: BigInt(T0 + 64 * STEP), k: 3 });
    expect(r.incidents).toHaveLength(3);
    expect(r.incidents[0]!.distance).toBeGreaterThanOrEqual(0);
  });

  it("SearchText finds an explanation by a paraphrase (texts embedded by the gateway)", async () => {
    const r = await call<SearchTextResponse>("SearchText", { query: "the moisture dropped because someone did not shut the entrance", k: 3 });
    expect(r.hits[0]).toMatchObject({ kind: "explanation", deviceId: "q-b-0" });
    const mine = await call<SearchTextResponse>("SearchText", { query: "stuck reading", deviceId: "q-a-1", k: 10 });
    expect(mine.hits.length).toBeGreaterThan(0);
    expect(mine.hits.every((h) => h.deviceId === "q-a-1")).toBe(true);
  });

  it("answers health and has the per-caller cap", async () => {
    const Health = grpc.makeGenericClientConstructor(healthService, "Health");
    const h = new Health(role.address, grpc.credentials.createInsecure()) as unknown as Record<string, Unary>;
    const res = await new Promise<{ status: string }>((resolve, reject) =>
      h["check"]!({ service: QueryService.typeName }, new grpc.Metadata(), {}, (e, r) => (e ? reject(e) : resolve(r as { status: string }))),
    );
    expect(res.status).toBe("SERVING");
    // 40 concurrent calls from one named caller: those beyond 16 in flight are refused at once.
    const md = new grpc.Metadata();
    md.set("shoal-caller", "greedy");
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () => call("ListReadings", { deviceId: "q-a-4", metric: "temp", fromMs: BigInt(T0), toMs: BigInt(T0 + N * STEP), maxPoints: 10_000 }, md)),
    );
    const refused = results.filter((r) => r.status === "rejected" && (r.reason as grpc.ServiceError).code === grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.length).toBeGreaterThan(0);
    expect(results.filter((r) => r.status === "fulfilled").length).toBeGreaterThanOrEqual(16);
  });

  /** Readings of `deviceId` appended to the row log, as a runtime's sink does after ClickHouse took them. */
  const append = async (deviceId: string, seqs: number[]) => {
    const log = await createJetStreamRowLog(nc, { writer: "watch-test", keepMs: 3_600_000, replicas: 1 });
    const { binary } = new RowBinaryWriter(READINGS_SCHEMA).encode(
      seqs.map((seq) => ({ device_id: deviceId, epoch: 1, seq, ts_ms: Date.now(), metric_names: ["temp"], metric_values: [seq], metric_scores: [0.5], score: 0.5, log: "", stream_seq: seq })),
    );
    await log.append([{ table: READINGS_TABLE, format: "RowBinary", columns: READINGS_SCHEMA.columns.map((c) => c.name), rows: binary!.rows, chunks: binary!.chunks }]);
    log.close();
  };

  it("WatchDevice streams a device's stored readings live, and cuts off a client that does not read", async () => {
    // A reader: gets its device's readings, not another's.
    const got: WatchDeviceResponse[] = [];
    const stream = client["WatchDevice"]!.call(client, msg("WatchDevice", { deviceId: "w-1" })) as grpc.ClientReadableStream<WatchDeviceResponse>;
    stream.on("data", (m: WatchDeviceResponse) => got.push(m));
    const cancelled = new Promise<grpc.ServiceError>((resolve) => stream.on("error", resolve));
    await waitFor(async () => role.watch.watchers, (n) => n === 1, 5_000, "the watcher to register");
    await append("w-2", [1, 2]);
    await append("w-1", [1, 2, 3]);
    await waitFor(async () => got.length, (n) => n >= 3, 5_000, "three readings of w-1");
    expect(got.map((m) => (m.item.case === "reading" ? Number(m.item.value.seq) : -1))).toEqual([1, 2, 3]);
    expect(got[0]!.item.value).toMatchObject({ values: { temp: 1 }, scores: { temp: 0.5 } });
    stream.cancel();
    expect((await cancelled).code).toBe(grpc.status.CANCELLED);
    // A client that never reads: cut off once 50 items wait; the server keeps serving others.
    const slow = client["WatchDevice"]!.call(client, msg("WatchDevice", { deviceId: "w-slow" })) as grpc.ClientReadableStream<WatchDeviceResponse>;
    slow.pause();
    const ended = new Promise<grpc.ServiceError>((resolve) => slow.on("error", (e: grpc.ServiceError) => resolve(e)));
    await waitFor(async () => role.watch.watchers, (n) => n >= 1, 5_000, "the slow watcher to register");
    for (let round = 0; round < 20; round++) await append("w-slow", Array.from({ length: 100 }, (_, i) => round * 100 + i));
    await waitFor(async () => role.watch.cutOff, (n) => n === 1, 10_000, "the slow watcher to be cut off");
    slow.resume();
    const err = await ended;
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/read slower/);
    const after = await call<ListDevicesResponse>("ListDevices", { idPrefix: "q-live" });
    expect(after.devices).toHaveLength(1);
  });

  describe("from a client nobody here wrote (Debian's python3-grpcio, messages from buf's descriptor set)", () => {
    const py = pythonClient("query_client.py", () => role.address);
    const python = py.run;
    beforeAll(py.build);

    it("calls each unary RPC and gets INVALID_ARGUMENT with the reason", async () => {
      const [devices, device, readings, bad, analyses] = await python(["unary", "q-a-3", String(T0), String(T0 + N * STEP)]);
      expect(devices).toMatchObject({ ok: true, response: { devices: [{ deviceId: "q-a-0" }, { deviceId: "q-a-1" }] } });
      expect((devices!["response"] as { nextPageToken: string }).nextPageToken).not.toBe("");
      expect(device).toMatchObject({ ok: true, response: { device: { deviceId: "q-a-3", lastSeq: String(N) } } });
      expect(readings).toMatchObject({ ok: true, response: { resolution: "RESOLUTION_MINUTE", bucketMs: "120000" } });
      expect((readings!["response"] as { points: unknown[] }).points).toHaveLength(90);
      expect(bad).toMatchObject({ ok: false, code: "INVALID_ARGUMENT" });
      expect(bad!["details"]).toMatch(/device_id: must match/);
      const listed = (analyses!["response"] as { analyses: { seq: string; tsMs: string; incidentSeq: string; incidentTsMs: string }[] }).analyses;
      expect(listed).toHaveLength(3);
      // Each its own incident, named by its seq and time (int64 as JSON strings).
      expect(listed.map((a) => [a.incidentSeq, a.incidentTsMs])).toEqual(listed.map((a) => [a.seq, a.tsMs]));
    });

    it("WatchDevice with a reader that stops reading is cut off with RESOURCE_EXHAUSTED; the server carries on", async () => {
      const before = role.watch.cutOff;
      let sawFirst!: () => void;
      const first = new Promise<void>((r) => (sawFirst = r));
      const run = python(["watch-slow", "py-slow", "4"], (o) => o["event"] === "first" && sawFirst());
      await waitFor(async () => role.watch.watchers, (n) => n >= 1, 10_000, "the python watcher to register");
      await append("py-slow", [1]);
      await first;
      for (let round = 0; round < 40; round++) await append("py-slow", Array.from({ length: 100 }, (_, i) => 2 + round * 100 + i));
      await waitFor(async () => role.watch.cutOff, (n) => n > before, 10_000, "the python watcher to be cut off");
      const lines = await run;
      expect(lines[0]).toMatchObject({ event: "first", item: { reading: { seq: "1", values: { temp: 1 } } } });
      expect(lines[1]).toMatchObject({ event: "end", ok: false, code: "RESOURCE_EXHAUSTED" });
      expect(lines[1]!["got"] as number).toBeLessThan(4000);
      expect((await call<ListDevicesResponse>("ListDevices", { idPrefix: "q-b-" })).devices).toHaveLength(3);
    });

    it("WatchDevice with coalesce_ms gives the readings several to a message, all of them, in order", async () => {
      let opened!: () => void;
      const open = new Promise<void>((r) => (opened = r));
      const run = python(["watch-coalesced", "py-co", "200", "300"], (o) => o["event"] === "open" && opened());
      await open;
      await waitFor(async () => role.watch.watchers, (n) => n >= 1, 10_000, "the python watcher to register");
      // Appends of 30 rows (the role's watchBuffer is 50: one append is routed at once).
      for (let round = 0; round < 10; round++) await append("py-co", Array.from({ length: 30 }, (_, i) => 1 + round * 30 + i));
      const lines = await run;
      const got = lines.find((l) => l["event"] === "got")!;
      expect(got["cases"]).toEqual(["readings"]);
      expect(got["seqs"]).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
      // Ten appends of 30: at most one message each, not 300.
      expect(got["messages"] as number).toBeLessThanOrEqual(10);
    });
  });
});
