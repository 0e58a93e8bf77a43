import { create, type DescMessage } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { ClickHouseClient } from "@clickhouse/client";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pythonClient } from "../support/python-client.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClickHouse, startNats, type ServiceHandle } from "../harness/index.js";
import { createClickHouseClient, migrate } from "../../src/adapters/clickhouse/index.js";
import { createClickHouseAlertReadModel } from "../../src/adapters/clickhouse/alert-read-model.js";
import { createNatsAlertFeed } from "../../src/adapters/nats/alert-feed.js";
import { systemClock, sleep } from "../../src/base/clock.js";
import type { AlertCommand } from "../../src/domain/alerts.js";
import { alertSubject } from "../../src/domain/subjects.js";
import type { AlertTransitionRecord } from "../../src/ports/alert-read-model.js";
import type { AlertCommandSink, Silence, SilenceStore } from "../../src/ports/alerts.js";
import { grpcServiceDefinition, shutdownServer } from "../../src/grpc/index.js";
import { addAlertService, AlertWatchHub, createAlertService } from "../../src/alert-service/index.js";
import { AlertService, AlertSeverity, AlertState, TransitionKind } from "../../src/gen/shoal/v1/alert_pb.js";
import type { AcknowledgeAlertResponse, GetAlertResponse, ListAlertsResponse, ResolveAlertResponse, WatchAlertsResponse } from "../../src/gen/shoal/v1/alert_pb.js";
import { waitFor } from "../support/pipeline.js";

/**
 * shoal.v1.AlertService on real ClickHouse (the migrations' `alerts` and `alert_transitions`) and
 * real NATS (WatchAlerts from `shoal.alerts.<device>`), served by grpc-js on a real port, called by
 * a grpc-js client and by Debian's python3-grpcio. The device actor is simulated by the command
 * sink: it stores the transition rows and publishes the transition as the relay would (the journal
 * path end to end is the e2e tests').
 */
const T0 = Date.UTC(2026, 10, 1);
const database = "alert_test";

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void;
type Stream = (req: unknown, md?: grpc.Metadata) => grpc.ClientReadableStream<unknown>;

/** A transition as the device actor makes it (version 1: raised). */
const raised = (deviceId: string, rule: string, n: number, startedAtMs: number, extra: Partial<AlertTransitionRecord> = {}): AlertTransitionRecord => ({
  alertId: `${deviceId}/${rule}/${n}`,
  version: 1,
  deviceId,
  rule,
  metric: rule === "offline" ? "" : "temp",
  kind: "raised",
  state: "firing",
  severity: "warning",
  atMs: startedAtMs,
  startedAtMs,
  value: 0.97,
  summary: `${rule} on ${deviceId}`,
  by: "",
  reason: "score above 0.9",
  flapping: false,
  ...extra,
});
const next = (t: AlertTransitionRecord, kind: string, state: string, atMs: number, extra: Partial<AlertTransitionRecord> = {}): AlertTransitionRecord => ({ ...t, version: t.version + 1, kind, state, atMs, by: "", reason: kind, ...extra });

describe("AlertService over gRPC (real ClickHouse and NATS)", () => {
  let ch: ServiceHandle;
  let nats: ServiceHandle;
  let nc: NatsConnection;
  let chc: ClickHouseClient;
  let server: grpc.Server;
  let address: string;
  let watch: AlertWatchHub;
  let feed: ReturnType<typeof createNatsAlertFeed>;
  let readModel: ReturnType<typeof createClickHouseAlertReadModel>;
  let client: grpc.Client & Record<string, Unary & Stream>;
  const silenceChanges: string[] = [];

  /** Both rows of a transition, as the actor's turn writes them. */
  const store = async (...ts: AlertTransitionRecord[]) => {
    await chc.insert({
      table: "alert_transitions",
      values: ts.map((t) => ({ alert_id: t.alertId, version: t.version, device_id: t.deviceId, rule: t.rule, metric: t.metric, kind: t.kind, state: t.state, severity: t.severity, at_ms: t.atMs, started_at_ms: t.startedAtMs, value: t.value, summary: t.summary, by: t.by, reason: t.reason, flapping: t.flapping ? 1 : 0 })),
      format: "JSONEachRow",
    });
    await chc.insert({
      table: "alerts",
      values: ts.map((t) => ({ alert_id: t.alertId, rule: t.rule, device_id: t.deviceId, metric: t.metric, severity: t.severity, state: t.state, started_at_ms: t.startedAtMs, updated_at_ms: t.atMs, resolved_at_ms: t.state === "resolved" ? t.atMs : 0, summary: t.summary, detail: t.reason, version: t.version })),
      format: "JSONEachRow",
    });
  };

  /** The device actor: applies a journaled command a moment later, storing and publishing its transition. */
  class ActorSimulator implements AlertCommandSink {
    hold = false;
    readonly held: AlertCommand[] = [];
    readonly failures: unknown[] = [];
    async submit(cmd: AlertCommand) {
      if (this.hold) this.held.push(cmd);
      else void sleep(150).then(() => this.apply(cmd).catch((e: unknown) => this.failures.push(e)));
    }
    async apply(cmd: AlertCommand) {
      const last = (await readModel.history(cmd.alertId)).at(-1)!;
      const kind = cmd.op === "acknowledge" ? "acknowledged" : "resolved";
      const t = next(last, kind, kind, cmd.atMs, { by: cmd.by, reason: cmd.reason });
      await store(t);
      nc.publish(alertSubject(t.deviceId), JSON.stringify(t));
    }
  }
  const actor = new ActorSimulator();

  class MemorySilences implements SilenceStore {
    readonly byId = new Map<string, Silence>();
    async put(s: Silence) {
      this.byId.set(s.id, s);
    }
    async remove(id: string) {
      return this.byId.delete(id);
    }
    async list() {
      return [...this.byId.values()];
    }
  }

  const msg = (method: string, req: unknown) => create(AlertService.methods.find((m) => m.name === method)!.input as DescMessage, req as never);
  const call = <T>(method: string, req: unknown) =>
    new Promise<T>((resolve, reject) => (client[method] as Unary).call(client, msg(method, req), new grpc.Metadata(), { deadline: Date.now() + 15_000 }, (e, r) => (e ? reject(e) : resolve(r as T))));
  const fails = async (method: string, req: unknown) => {
    try {
      await call(method, req);
    } catch (e) {
      return e as grpc.ServiceError;
    }
    throw new Error(`${method} did not fail`);
  };

  // The fleet: 25 older alerts for paging (two of them started in the same ms), and a few with history.
  const a1 = raised("pump-1", "anomaly", 1, T0 + 1000);
  const o1 = raised("pump-1", "offline", 1, T0 + 2000, { severity: "critical" });
  const p2a1 = raised("pump-2", "anomaly", 1, T0 + 3000);
  const p2a2 = raised("pump-2", "anomaly", 2, T0 + 10_000, { severity: "info" });
  const older = Array.from({ length: 25 }, (_, k) => raised(`fleet-${String(k).padStart(2, "0")}`, "anomaly", 1, T0 - 60_000 * (k === 24 ? 23 : k + 1)));

  beforeAll(async () => {
    [ch, nats] = await Promise.all([startClickHouse(), startNats()]);
    const o = { url: ch.url, database, username: "default", password: "" };
    await migrate(o);
    chc = createClickHouseClient(o);
    await store(a1, o1, p2a1, p2a2, ...older);
    await store(next(a1, "acknowledged", "acknowledged", T0 + 5000, { by: "bob", reason: "looking" }));
    const cleared = next(p2a1, "cleared", "resolved", T0 + 9000);
    await store(cleared);
    await store(next(p2a2, "flapping", "firing", T0 + 11_000, { flapping: true }));
    // A replay stores the same transitions again: each version must still count once.
    await store(o1, cleared);

    nc = await connect({ servers: nats.url });
    feed = createNatsAlertFeed(nc);
    readModel = createClickHouseAlertReadModel(o, { maxExecutionMs: 10_000 });
    watch = new AlertWatchHub(feed, { maxWatchers: 10, bufferItems: 20 });
    const impl = createAlertService({
      readModel,
      commands: actor,
      silences: new MemorySilences(),
      watch,
      clock: systemClock,
      waitMs: 3_000,
      onSilenceChange: (s, action, change) => void silenceChanges.push(`${action} ${s.deviceId ?? ""}/${s.rule ?? ""} by ${change.by}`),
    });
    server = new grpc.Server();
    addAlertService(server, impl, { timeoutMs: 10_000, maxConcurrentPerCaller: 16, maxStreamsPerCaller: 8 });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    address = `127.0.0.1:${port}`;
    const Ctor = grpc.makeGenericClientConstructor(grpcServiceDefinition(AlertService), "AlertService");
    client = new Ctor(address, grpc.credentials.createInsecure()) as typeof client;
  }, 120_000);

  afterAll(async () => {
    client?.close();
    if (server) await shutdownServer(server, 2_000);
    await readModel?.close();
    await chc?.close();
    await nc?.close();
    await Promise.all([ch?.cleanup(), nats?.cleanup()]);
  });

  it("ListAlerts: current states newest first, filtered on the latest version only", async () => {
    const mine = await call<ListAlertsResponse>("ListAlerts", { deviceId: "pump-1" });
    expect(mine.alerts.map((a) => [a.alertId, a.state, Number(a.version)])).toEqual([
      ["pump-1/offline/1", AlertState.FIRING, 1],
      ["pump-1/anomaly/1", AlertState.ACKNOWLEDGED, 2],
    ]);
    // pump-1/anomaly/1 was firing at version 1: a state filter must not see that old version.
    const firing = await call<ListAlertsResponse>("ListAlerts", { deviceId: "pump-1", states: [AlertState.FIRING] });
    expect(firing.alerts.map((a) => a.alertId)).toEqual(["pump-1/offline/1"]);
    const critical = await call<ListAlertsResponse>("ListAlerts", { minSeverity: AlertSeverity.CRITICAL });
    expect(critical.alerts.map((a) => a.alertId)).toEqual(["pump-1/offline/1"]);
    const resolved = await call<ListAlertsResponse>("ListAlerts", { states: [AlertState.RESOLVED] });
    expect(resolved.alerts).toHaveLength(1);
    expect(resolved.alerts[0]).toMatchObject({ alertId: "pump-2/anomaly/1", resolvedAtMs: BigInt(T0 + 9000), updatedAtMs: BigInt(T0 + 9000), detail: "cleared" });
    const window = await call<ListAlertsResponse>("ListAlerts", { sinceMs: BigInt(T0 + 2000), untilMs: BigInt(T0 + 10_000) });
    expect(window.alerts.map((a) => a.alertId)).toEqual(["pump-2/anomaly/1", "pump-1/offline/1"]);
    expect((await call<ListAlertsResponse>("ListAlerts", { deviceId: "pump-2" })).alerts[0]).toMatchObject({ alertId: "pump-2/anomaly/2", flapping: true, severity: AlertSeverity.INFO });
  });

  it("ListAlerts pages through every alert once, in (started_at desc, alert_id) order, ties included", async () => {
    const seen: Array<[number, string]> = [];
    let token = "";
    for (let page = 0; page < 10; page++) {
      const r = await call<ListAlertsResponse>("ListAlerts", { limit: 4, pageToken: token, untilMs: BigInt(T0 + 15_000) });
      seen.push(...r.alerts.map((a): [number, string] => [Number(a.startedAtMs), a.alertId]));
      token = r.nextPageToken;
      if (token === "") break;
    }
    const expected = [a1, o1, p2a1, p2a2, ...older].map((t): [number, string] => [t.startedAtMs, t.alertId]).sort((x, y) => y[0] - x[0] || (x[1] < y[1] ? -1 : 1));
    expect(seen).toEqual(expected);
    expect(seen.filter(([at]) => at === T0 - 60_000 * 23).map(([, id]) => id)).toEqual(["fleet-22/anomaly/1", "fleet-24/anomaly/1"]);
  });

  it("GetAlert: the current state and its history once per version (a replay stored rows twice)", async () => {
    const r = await call<GetAlertResponse>("GetAlert", { alertId: "pump-2/anomaly/1" });
    expect(r.alert).toMatchObject({ state: AlertState.RESOLVED, version: 2n, deviceId: "pump-2", rule: "anomaly", metric: "temp", summary: "anomaly on pump-2" });
    expect(r.history.map((t) => [Number(t.version), t.kind, t.state])).toEqual([
      [1, TransitionKind.RAISED, AlertState.FIRING],
      [2, TransitionKind.CLEARED, AlertState.RESOLVED],
    ]);
    expect(r.history[0]).toMatchObject({ value: 0.97, atMs: BigInt(T0 + 3000), startedAtMs: BigInt(T0 + 3000), reason: "score above 0.9" });
    expect((await fails("GetAlert", { alertId: "pump-9/anomaly/1" })).code).toBe(grpc.status.NOT_FOUND);
  });

  it("acknowledge then resolve: each journaled, applied by the actor, returned applied; resolving again is FAILED_PRECONDITION", async () => {
    const ack = await call<AcknowledgeAlertResponse>("AcknowledgeAlert", { alertId: "pump-1/offline/1", by: "ann", reason: "driving there" });
    expect(ack).toMatchObject({ accepted: true, applied: true, alert: { state: AlertState.ACKNOWLEDGED, version: 2n } });
    const res = await call<ResolveAlertResponse>("ResolveAlert", { alertId: "pump-1/offline/1", by: "ann", reason: "cable replaced" });
    expect(res).toMatchObject({ accepted: true, applied: true, alert: { state: AlertState.RESOLVED, version: 3n, detail: "cable replaced" } });
    const h = await call<GetAlertResponse>("GetAlert", { alertId: "pump-1/offline/1" });
    expect(h.history.map((t) => [t.kind, t.by, t.reason])).toEqual([
      [TransitionKind.RAISED, "", "score above 0.9"],
      [TransitionKind.ACKNOWLEDGED, "ann", "driving there"],
      [TransitionKind.RESOLVED, "ann", "cable replaced"],
    ]);
    const again = await fails("ResolveAlert", { alertId: "pump-1/offline/1", by: "ann" });
    expect([again.code, again.details]).toEqual([grpc.status.FAILED_PRECONDITION, expect.stringMatching(/resolved/)]);
    expect(actor.failures).toEqual([]);
  });

  it("answers accepted but not applied when the actor is slow; the command still lands", async () => {
    const t = raised("pump-3", "anomaly", 1, T0 + 20_000);
    await store(t);
    actor.hold = true;
    const r = await call<AcknowledgeAlertResponse>("AcknowledgeAlert", { alertId: t.alertId, by: "ann" });
    expect(r).toMatchObject({ accepted: true, applied: false, alert: { state: AlertState.FIRING, version: 1n } });
    actor.hold = false;
    await actor.apply(actor.held.shift()!);
    expect((await call<GetAlertResponse>("GetAlert", { alertId: t.alertId })).alert?.state).toBe(AlertState.ACKNOWLEDGED);
  });

  it("rejects bad arguments with INVALID_ARGUMENT naming the field", async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ["GetAlert", { alertId: "pump-1' OR 1=1 --/x/1" }, /alert_id: must be/],
      ["AcknowledgeAlert", { alertId: "pump-1/anomaly/1", by: "" }, /by: required/],
      ["ListAlerts", { limit: 5000 }, /limit/],
      ["ListAlerts", { deviceId: "a'b" }, /device_id/],
      ["ListAlerts", { pageToken: "x" }, /page_token/],
      ["SilenceAlerts", { durationMs: 600_000n, by: "ann" }, /device_id or rule required/],
      ["SilenceAlerts", { rule: "anomaly", durationMs: 1000n, by: "ann" }, /duration_ms/],
    ];
    for (const [method, req, reason] of cases) {
      const e = await fails(method, req);
      expect(e.code, method).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e.details).toMatch(reason);
    }
  });

  it("WatchAlerts streams a device's transitions live (malformed messages left out) and cuts off a client that does not read", async () => {
    const t = raised("pump-4", "anomaly", 1, T0 + 30_000);
    await store(t);
    const got: WatchAlertsResponse[] = [];
    const stream = client["WatchAlerts"]!.call(client, msg("WatchAlerts", { deviceId: "pump-4" })) as grpc.ClientReadableStream<WatchAlertsResponse>;
    stream.on("data", (m: WatchAlertsResponse) => got.push(m));
    const cancelled = new Promise<grpc.ServiceError>((resolve) => stream.on("error", resolve));
    await waitFor(async () => watch.watchers, (n) => n === 1, 5_000, "the watcher to register");
    nc.publish(alertSubject("pump-4"), "{not json");
    nc.publish(alertSubject("pump-5"), JSON.stringify(raised("pump-5", "anomaly", 1, T0)));
    await call("AcknowledgeAlert", { alertId: t.alertId, by: "ann", reason: "seen" });
    await waitFor(async () => got.length, (n) => n >= 2, 5_000, "the acknowledged transition");
    // First the watch is established (no transition), then the one transition of pump-4.
    expect(got[0]!.transition).toBeUndefined();
    expect(got.slice(1).map((m) => m.transition)).toMatchObject([{ alertId: t.alertId, version: 2n, kind: TransitionKind.ACKNOWLEDGED, by: "ann", reason: "seen" }]);
    expect(feed.malformed).toBe(1);
    stream.cancel();
    expect((await cancelled).code).toBe(grpc.status.CANCELLED);
    await waitFor(async () => watch.watchers, (n) => n === 0, 5_000, "the watcher to end");

    const slow = client["WatchAlerts"]!.call(client, msg("WatchAlerts", {})) as grpc.ClientReadableStream<WatchAlertsResponse>;
    slow.pause();
    const ended = new Promise<grpc.ServiceError>((resolve) => slow.on("error", resolve));
    await waitFor(async () => watch.watchers, (n) => n === 1, 5_000, "the slow watcher to register");
    const filler = raised("pump-6", "anomaly", 1, T0, { summary: "x".repeat(2000) });
    for (let v = 1; v <= 3000; v++) nc.publish(alertSubject("pump-6"), JSON.stringify({ ...filler, version: v }));
    await waitFor(async () => watch.cutOff, (n) => n === 1, 10_000, "the slow watcher to be cut off");
    slow.resume();
    const err = await ended;
    expect([err.code, err.details]).toEqual([grpc.status.RESOURCE_EXHAUSTED, expect.stringMatching(/read slower/)]);
  });

  describe("from a client nobody here wrote (Debian's python3-grpcio, messages from buf's descriptor set)", () => {
    const py = pythonClient("alert_client.py", () => address);
    const python = py.run;
    beforeAll(py.build);
    afterAll(py.cleanup);

    it("lists, gets, acknowledges, resolves and silences; errors come with their code and reason", async () => {
      const t = raised("pump-7", "offline", 1, T0 + 40_000, { severity: "critical" });
      await store(t);
      const [list, get, ack, res, again, bad, silence, active, deleted, all] = await python(["unary", "pump-7", t.alertId]);
      expect(list).toMatchObject({ ok: true, response: { alerts: [{ alertId: t.alertId, state: "ALERT_STATE_FIRING", severity: "ALERT_SEVERITY_CRITICAL", startedAtMs: String(T0 + 40_000) }] } });
      expect(get).toMatchObject({ ok: true, response: { alert: { alertId: t.alertId, version: "1" }, history: [{ kind: "TRANSITION_KIND_RAISED" }] } });
      expect(ack).toMatchObject({ ok: true, response: { accepted: true, applied: true, alert: { state: "ALERT_STATE_ACKNOWLEDGED", version: "2" } } });
      expect(res).toMatchObject({ ok: true, response: { accepted: true, applied: true, alert: { state: "ALERT_STATE_RESOLVED", version: "3" } } });
      expect(again).toMatchObject({ ok: false, code: "FAILED_PRECONDITION" });
      expect(bad).toMatchObject({ ok: false, code: "INVALID_ARGUMENT", details: expect.stringMatching(/^by: required/) });
      expect(silence).toMatchObject({ ok: true, response: { silence: { deviceId: "pump-7", by: "py-operator", reason: "maintenance", active: true } } });
      const id = (silence!["response"] as { silence: { id: string } }).silence.id;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(active).toMatchObject({ ok: true, response: { silences: [{ id }] } });
      expect(deleted).toMatchObject({ ok: true, response: { silence: { id } } });
      expect(all).toMatchObject({ ok: true, response: {} });
      expect(silenceChanges).toEqual(["created pump-7/ by py-operator", "deleted pump-7/ by py-operator"]);
    });

    it("watches a device's transitions live", async () => {
      const t = raised("pump-8", "anomaly", 1, T0 + 50_000);
      await store(t);
      const before = watch.watchers;
      const run = python(["watch", "pump-8", "2"]);
      await waitFor(async () => watch.watchers, (n) => n > before, 10_000, "the python watcher to register");
      await call("AcknowledgeAlert", { alertId: t.alertId, by: "ann" });
      await call("ResolveAlert", { alertId: t.alertId, by: "ann" });
      const lines = await run;
      expect(lines.map((l) => l["event"])).toEqual(["open", "established", "transition", "transition", "end"]);
      expect(lines.filter((l) => l["event"] === "transition").map((l) => (l["item"] as { transition: { version: string; kind: string } }).transition)).toEqual([
        expect.objectContaining({ version: "2", kind: "TRANSITION_KIND_ACKNOWLEDGED" }),
        expect.objectContaining({ version: "3", kind: "TRANSITION_KIND_RESOLVED" }),
      ]);
      expect(lines.at(-1)).toEqual({ event: "end", got: 2 });
    });
  });
});
