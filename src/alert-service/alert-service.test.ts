import { Code, ConnectError, createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { CALLER, type Caller } from "../access/index.js";

/** Plays the access check: every call comes from `caller`. */
const asCaller =
  (caller: Caller): Interceptor =>
  (next) =>
  (req) => {
    req.contextValues.set(CALLER, caller);
    return next(req);
  };
import { beforeEach, describe, expect, it } from "vitest";
import { ShoalError } from "../base/errors.js";
import { SimClock } from "../base/testing/sim-clock.js";
import type { AlertCommand } from "../domain/alerts.js";
import type { AlertListQuery, AlertReadModel, AlertRow, AlertTransitionRecord } from "../ports/alert-read-model.js";
import type { AlertCommandSink, Silence, SilenceStore } from "../ports/alerts.js";
import { AlertService, AlertSeverity, AlertState, TransitionKind } from "../gen/shoal/v1/alert_pb.js";
import { createAlertService, type AlertServiceDeps } from "./alert-service.js";
import { AlertWatchHub } from "./alert-watch.js";
import { MemoryAlertFeed } from "./testing.js";

/** Logic of the alert service over in-memory ports (ClickHouse and NATS: test/integration/alert-service.test.ts). */
const T0 = Date.UTC(2026, 10, 1);

class MemoryAlerts implements AlertReadModel {
  readonly rows = new Map<string, AlertRow>();
  readonly transitions = new Map<string, AlertTransitionRecord[]>();
  readonly asked: AlertListQuery[] = [];

  raise(deviceId: string, rule: string, n: number, startedAtMs: number, severity = "warning"): AlertRow {
    const alertId = `${deviceId}/${rule}/${n}`;
    this.record({ alertId, version: 1, deviceId, rule, metric: "temp", kind: "raised", state: "firing", severity, atMs: startedAtMs, startedAtMs, value: 0.95, summary: "temp high", by: "", reason: "score 0.95", flapping: false });
    return this.rows.get(alertId)!;
  }

  /** The next transition of an alert, as its actor would store it. */
  apply(alertId: string, kind: string, state: string, by: string, atMs: number): void {
    const last = this.transitions.get(alertId)!.at(-1)!;
    this.record({ ...last, version: last.version + 1, kind, state, atMs, by, reason: `${kind} by ${by}` });
  }

  private record(t: AlertTransitionRecord): void {
    this.transitions.set(t.alertId, [...(this.transitions.get(t.alertId) ?? []), t]);
    this.rows.set(t.alertId, {
      alertId: t.alertId,
      deviceId: t.deviceId,
      rule: t.rule,
      metric: t.metric,
      severity: t.severity,
      state: t.state,
      startedAtMs: t.startedAtMs,
      updatedAtMs: t.atMs,
      resolvedAtMs: t.state === "resolved" ? t.atMs : 0,
      summary: t.summary,
      detail: t.reason,
      version: t.version,
      flapping: t.flapping,
    });
  }

  async listAlerts(q: AlertListQuery): Promise<AlertRow[]> {
    this.asked.push(q);
    return [...this.rows.values()]
      .filter((a) => (q.deviceId === "" || a.deviceId === q.deviceId) && (q.states.length === 0 || q.states.includes(a.state)) && (q.severities.length === 0 || q.severities.includes(a.severity)))
      .filter((a) => (q.sinceMs === undefined || a.startedAtMs >= q.sinceMs) && (q.untilMs === undefined || a.startedAtMs < q.untilMs))
      .sort((a, b) => b.startedAtMs - a.startedAtMs || (a.alertId < b.alertId ? -1 : 1))
      .filter((a) => q.after === undefined || a.startedAtMs < q.after.startedAtMs || (a.startedAtMs === q.after.startedAtMs && a.alertId > q.after.alertId))
      .slice(0, q.limit);
  }
  async getAlert(id: string) {
    return this.rows.get(id);
  }
  async history(id: string) {
    return this.transitions.get(id) ?? [];
  }
}

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

/** A sink that journals commands and, `applyAfterMs` later (undefined: never), has the "actor" apply them. */
class ActorDouble implements AlertCommandSink {
  readonly submitted: AlertCommand[] = [];
  applyAfterMs: number | undefined = 300;
  fail: Error | undefined;
  constructor(
    private readonly alerts: MemoryAlerts,
    private readonly clock: SimClock,
  ) {}
  async submit(cmd: AlertCommand) {
    if (this.fail) throw this.fail;
    this.submitted.push(cmd);
    const after = this.applyAfterMs;
    if (after === undefined) return;
    const [kind, state] = cmd.op === "acknowledge" ? ["acknowledged", "acknowledged"] : ["resolved", "resolved"];
    this.clock.setTimeout(() => this.alerts.apply(cmd.alertId, kind, state, cmd.by, cmd.atMs), after);
  }
}

/** Settle a call that waits on the simulated clock, moving it 50 ms at a time. */
async function drive<T>(p: Promise<T>, clock: SimClock, maxMs = 120_000): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let t = 0; !done && t < maxMs; t += 50) await clock.advance(50);
  return p;
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );

describe("AlertService logic", () => {
  let clock: SimClock;
  let alerts: MemoryAlerts;
  let silences: MemorySilences;
  let actor: ActorDouble;
  let feed: MemoryAlertFeed;
  let changes: Array<[string, Silence, { by: string; reason: string; atMs: number }]>;
  let internal: Array<[string, unknown]>;
  let ids: number;

  const build = (extra: Partial<AlertServiceDeps> = {}, caller?: Caller) => {
    const impl = createAlertService({
      readModel: alerts,
      commands: actor,
      silences,
      watch: new AlertWatchHub(feed, { maxWatchers: 2, bufferItems: 3 }),
      clock,
      waitMs: 5_000,
      newId: () => `id-${++ids}`,
      onSilenceChange: (s, action, change) => void changes.push([action, s, change]),
      onInternalError: (method, err) => internal.push([method, err]),
      ...extra,
    });
    return createClient(AlertService, createRouterTransport(({ service }) => service(AlertService, impl), caller ? { router: { interceptors: [asCaller(caller)] } } : {}));
  };

  beforeEach(() => {
    clock = new SimClock(T0 + 3_600_000);
    alerts = new MemoryAlerts();
    silences = new MemorySilences();
    actor = new ActorDouble(alerts, clock);
    feed = new MemoryAlertFeed();
    changes = [];
    internal = [];
    ids = 0;
    alerts.raise("d-1", "anomaly", 1, T0 + 1000);
    alerts.raise("d-1", "offline", 1, T0 + 2000, "critical");
    alerts.raise("d-2", "anomaly", 1, T0 + 2000, "info");
    alerts.raise("d-2", "anomaly", 2, T0 + 3000);
  });

  it("rejects bad arguments with INVALID_ARGUMENT naming the field", async () => {
    const c = build();
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => c.getAlert({ alertId: "" }), /alert_id: required/],
      [() => c.getAlert({ alertId: "d-1/anomaly" }), /alert_id: must be <device_id>\/<rule>\/<n>/],
      [() => c.getAlert({ alertId: "bad id!/anomaly/1" }), /alert_id/],
      [() => c.acknowledgeAlert({ alertId: "d-1/anomaly/1", by: "  " }), /by: required/],
      [() => c.acknowledgeAlert({ alertId: "d-1/anomaly/1", by: "x".repeat(129) }), /by: longer than 128/],
      [() => c.acknowledgeAlert({ alertId: "d-1/anomaly/1", by: "ann\nbob" }), /by: must not contain control/],
      [() => c.resolveAlert({ alertId: "d-1/anomaly/1", by: "ann", reason: "r".repeat(1025) }), /reason: longer than 1024/],
      [() => c.listAlerts({ deviceId: "a b" }), /device_id: must match/],
      [() => c.listAlerts({ rule: "no/slash" }), /rule: must match/],
      [() => c.listAlerts({ states: [AlertState.UNSPECIFIED] }), /states: ALERT_STATE_UNSPECIFIED|states: UNSPECIFIED/],
      [() => c.listAlerts({ minSeverity: 9 as AlertSeverity }), /min_severity/],
      [() => c.listAlerts({ sinceMs: 5n }), /since_ms: must be ms since the epoch/],
      [() => c.listAlerts({ sinceMs: BigInt(T0), untilMs: BigInt(T0) }), /until_ms: must be after since_ms/],
      [() => c.listAlerts({ limit: 1001 }), /limit: must be between 1 and 1000/],
      [() => c.listAlerts({ pageToken: "bm9wZQ" }), /page_token/],
      [() => c.silenceAlerts({ durationMs: 60_000n, by: "ann" }), /device_id: device_id or rule required/],
      [() => c.silenceAlerts({ deviceId: "d-1", durationMs: 59_999n, by: "ann" }), /duration_ms: must be between 60000/],
      [() => c.silenceAlerts({ rule: "anomaly", durationMs: BigInt(30 * 86_400_000 + 1), by: "ann" }), /duration_ms/],
      [() => c.silenceAlerts({ rule: "anomaly", durationMs: 60_000n, by: "" }), /by: required/],
      [() => c.deleteSilence({ id: "../x", by: "ann" }), /id: must match/],
    ];
    for (const [f, reason] of cases) {
      const e = await codeOf(f());
      expect(e?.code, String(reason)).toBe(Code.InvalidArgument);
      expect(e!.rawMessage).toMatch(reason);
    }
    expect(actor.submitted).toEqual([]);
    expect(silences.byId.size).toBe(0);
  });

  it("lists newest first with filters, paging by an opaque keyset token", async () => {
    const c = build();
    const p1 = await c.listAlerts({ limit: 2 });
    expect(p1.alerts.map((a) => a.alertId)).toEqual(["d-2/anomaly/2", "d-1/offline/1"]);
    const p2 = await c.listAlerts({ limit: 2, pageToken: p1.nextPageToken });
    expect(p2.alerts.map((a) => a.alertId)).toEqual(["d-2/anomaly/1", "d-1/anomaly/1"]);
    expect(p2.nextPageToken).toBe("");
    const high = await c.listAlerts({ minSeverity: AlertSeverity.WARNING, states: [AlertState.FIRING, AlertState.FIRING], sinceMs: BigInt(T0), untilMs: BigInt(T0 + 2500) });
    expect(high.alerts.map((a) => a.alertId)).toEqual(["d-1/offline/1", "d-1/anomaly/1"]);
    expect(alerts.asked.at(-1)).toMatchObject({ states: ["firing"], severities: ["warning", "critical"], sinceMs: T0, untilMs: T0 + 2500, limit: 101 });
    expect(high.alerts[0]).toMatchObject({ severity: AlertSeverity.CRITICAL, state: AlertState.FIRING, startedAtMs: BigInt(T0 + 2000), version: 1n });
  });

  it("GetAlert: the current state and every transition; NOT_FOUND for an unknown alert", async () => {
    alerts.apply("d-1/anomaly/1", "escalated", "firing", "", T0 + 5000);
    const c = build();
    const got = await c.getAlert({ alertId: "d-1/anomaly/1" });
    expect(got.alert).toMatchObject({ version: 2n, state: AlertState.FIRING, deviceId: "d-1", rule: "anomaly" });
    expect(got.history.map((t) => [Number(t.version), t.kind])).toEqual([
      [1, TransitionKind.RAISED],
      [2, TransitionKind.ESCALATED],
    ]);
    expect((await codeOf(c.getAlert({ alertId: "d-9/anomaly/1" })))?.code).toBe(Code.NotFound);
  });

  it("acknowledge journals the command and returns the alert once the actor applied it", async () => {
    const c = build();
    const r = await drive(c.acknowledgeAlert({ alertId: "d-1/anomaly/1", by: " ann ", reason: "looking" }), clock);
    expect(r).toMatchObject({ accepted: true, applied: true, alert: { state: AlertState.ACKNOWLEDGED, version: 2n, detail: "acknowledged by ann" } });
    expect(actor.submitted).toEqual([{ type: "alert-command", op: "acknowledge", alertId: "d-1/anomaly/1", deviceId: "d-1", by: "ann", reason: "looking", commandId: "id-1", atMs: T0 + 3_600_000 }]);
  });

  it("where tokens are checked, the token's name is recorded, not the request's by", async () => {
    const c = build({}, { name: "oncall-ann", role: "operator" });
    await drive(c.acknowledgeAlert({ alertId: "d-1/anomaly/1", by: "someone-else" }), clock);
    expect(actor.submitted).toMatchObject([{ op: "acknowledge", by: "oncall-ann" }]);
    const s = await c.silenceAlerts({ deviceId: "d-1", durationMs: 60_000n, reason: "maintenance" });
    expect(s.silence?.by).toBe("oncall-ann");
  });

  it("acknowledging an acknowledged alert is idempotent (nothing journaled); a resolved alert refuses both commands", async () => {
    const c = build();
    alerts.apply("d-1/anomaly/1", "acknowledged", "acknowledged", "bob", T0 + 5000);
    const again = await c.acknowledgeAlert({ alertId: "d-1/anomaly/1", by: "ann" });
    expect(again).toMatchObject({ accepted: true, applied: true, alert: { state: AlertState.ACKNOWLEDGED, version: 2n } });
    alerts.apply("d-1/anomaly/1", "resolved", "resolved", "bob", T0 + 6000);
    expect((await codeOf(c.resolveAlert({ alertId: "d-1/anomaly/1", by: "ann" })))?.code).toBe(Code.FailedPrecondition);
    expect((await codeOf(c.acknowledgeAlert({ alertId: "d-1/anomaly/1", by: "ann" })))?.code).toBe(Code.FailedPrecondition);
    expect((await codeOf(c.resolveAlert({ alertId: "d-7/anomaly/1", by: "ann" })))?.code).toBe(Code.NotFound);
    expect(actor.submitted).toEqual([]);
  });

  it("resolve of an acknowledged alert waits for the resolved state, not any new version", async () => {
    const c = build();
    alerts.apply("d-2/anomaly/2", "acknowledged", "acknowledged", "bob", T0 + 5000);
    actor.applyAfterMs = 1000;
    // Before the actor resolves it, an escalation-like change lands: not the command's transition.
    clock.setTimeout(() => alerts.apply("d-2/anomaly/2", "escalated", "acknowledged", "", T0 + 5500), 400);
    const r = await drive(c.resolveAlert({ alertId: "d-2/anomaly/2", by: "ann" }), clock);
    expect(r).toMatchObject({ applied: true, alert: { state: AlertState.RESOLVED, version: 4n, resolvedAtMs: BigInt(T0 + 3_600_000) } });
  });

  it("answers accepted, not applied, when the transition does not show within the wait (the command stands)", async () => {
    const c = build();
    actor.applyAfterMs = 8_000;
    const started = clock.now();
    const r = await drive(c.resolveAlert({ alertId: "d-1/offline/1", by: "ann" }), clock);
    expect(r).toMatchObject({ accepted: true, applied: false, alert: { state: AlertState.FIRING, version: 1n } });
    expect(clock.now() - started).toBeGreaterThanOrEqual(5_000);
    expect(actor.submitted).toHaveLength(1);
    await clock.advance(5_000);
    expect((await c.getAlert({ alertId: "d-1/offline/1" })).alert?.state).toBe(AlertState.RESOLVED);
  });

  it("waits no longer than the call's deadline allows", async () => {
    const c = build({ waitMs: 60_000 });
    actor.applyAfterMs = undefined;
    const started = clock.now();
    const r = await drive(c.acknowledgeAlert({ alertId: "d-1/offline/1", by: "ann" }, { timeoutMs: 2_000 }), clock);
    expect(r).toMatchObject({ accepted: true, applied: false });
    expect(clock.now() - started).toBeLessThan(2_000);
  });

  it("a journal that is down is UNAVAILABLE (retry); an unexpected failure INTERNAL without internals", async () => {
    const c = build();
    actor.fail = new ShoalError("alert command id-1 not journaled: timeout", { code: "unavailable", retryable: true });
    const down = await codeOf(c.acknowledgeAlert({ alertId: "d-1/anomaly/1", by: "ann" }));
    expect([down?.code, down?.rawMessage]).toEqual([Code.Unavailable, expect.stringMatching(/not journaled/)]);
    const broken = build({ readModel: { listAlerts: () => Promise.reject(new TypeError("secret internals at /srv")), getAlert: (id) => alerts.getAlert(id), history: (id) => alerts.history(id) } });
    const e = await codeOf(broken.listAlerts({}));
    expect(e?.code).toBe(Code.Internal);
    expect(e?.rawMessage).not.toMatch(/secret/);
    expect(internal.map(([m]) => m)).toEqual(["ListAlerts"]);
  });

  it("silences: created for now + duration, listed while active (or all), deleted; each change reported with who and why", async () => {
    const c = build();
    const s = (await c.silenceAlerts({ deviceId: "d-1", durationMs: 600_000n, by: "ann", reason: "maintenance" })).silence!;
    expect(s).toMatchObject({ id: "id-1", deviceId: "d-1", rule: "", untilMs: BigInt(clock.now() + 600_000), createdAtMs: BigInt(clock.now()), by: "ann", reason: "maintenance", active: true });
    await clock.advance(1000);
    await c.silenceAlerts({ rule: "offline", durationMs: BigInt(30 * 86_400_000), by: "bob" });
    expect((await c.listSilences({})).silences.map((x) => x.id)).toEqual(["id-2", "id-1"]);
    await clock.advance(600_000);
    expect((await c.listSilences({})).silences.map((x) => x.id)).toEqual(["id-2"]);
    const all = await c.listSilences({ includeExpired: true });
    expect(all.silences.map((x) => [x.id, x.active])).toEqual([
      ["id-2", true],
      ["id-1", false],
    ]);
    const gone = await c.deleteSilence({ id: "id-2", by: "carol", reason: "done" });
    expect(gone.silence).toMatchObject({ id: "id-2", rule: "offline" });
    expect(silences.byId.has("id-2")).toBe(false);
    expect((await codeOf(c.deleteSilence({ id: "id-2", by: "carol" })))?.code).toBe(Code.NotFound);
    expect(changes.map(([action, x, w]) => [action, x.id, w.by, w.reason])).toEqual([
      ["created", "id-1", "ann", "maintenance"],
      ["created", "id-2", "bob", ""],
      ["deleted", "id-2", "carol", "done"],
    ]);
  });

  it("a failing silence hook is reported, and the silence stands", async () => {
    const c = build({ onSilenceChange: () => Promise.reject(new Error("history down")) });
    const s = await c.silenceAlerts({ deviceId: "d-2", durationMs: 60_000n, by: "ann" });
    expect(silences.byId.has(s.silence!.id)).toBe(true);
    expect(internal.map(([m, e]) => [m, (e as Error).message])).toEqual([["onSilenceChange", "history down"]]);
  });
});

describe("AlertWatchHub", () => {
  const t = (deviceId: string, version: number): AlertTransitionRecord => ({ alertId: `${deviceId}/anomaly/1`, version, deviceId, rule: "anomaly", metric: "temp", kind: "raised", state: "firing", severity: "warning", atMs: T0, startedAtMs: T0, value: 1, summary: "", by: "", reason: "", flapping: false });

  it("streams a device's transitions (or the fleet's) and unsubscribes when the watcher ends", async () => {
    const feed = new MemoryAlertFeed();
    const hub = new AlertWatchHub(feed, { maxWatchers: 2, bufferItems: 10 });
    const ac = new AbortController();
    const mine = hub.watch("d-1", ac.signal);
    const fleet = hub.watch(undefined, ac.signal);
    // Established at once, before any transition: a message without one.
    expect((await mine.next()).value).toEqual({});
    expect((await fleet.next()).value).toEqual({});
    const [m1, f1] = [mine.next(), fleet.next()];
    feed.publish(t("d-2", 1));
    feed.publish(t("d-1", 1));
    expect((await m1).value?.transition).toMatchObject({ deviceId: "d-1", version: 1n, kind: TransitionKind.RAISED });
    expect((await f1).value?.transition).toMatchObject({ deviceId: "d-2" });
    expect((await fleet.next()).value?.transition).toMatchObject({ deviceId: "d-1" });
    expect(hub.watchers).toBe(2);
    await expect(hub.watch("d-3", ac.signal).next()).rejects.toMatchObject({ code: Code.ResourceExhausted });
    const end = mine.next();
    ac.abort();
    expect((await end).done).toBe(true);
    await fleet.return(undefined);
    expect([hub.watchers, feed.subscribers]).toEqual([0, 0]);
  });

  it("cuts off a watcher that does not read (RESOURCE_EXHAUSTED) and only that one", async () => {
    const feed = new MemoryAlertFeed();
    const hub = new AlertWatchHub(feed, { maxWatchers: 5, bufferItems: 3 });
    const ac = new AbortController();
    const slow = hub.watch(undefined, ac.signal);
    const fast = hub.watch(undefined, ac.signal);
    await Promise.all([slow.next(), fast.next()]); // established
    const [s1, f1] = [slow.next(), fast.next()];
    feed.publish(t("d-1", 1));
    await Promise.all([s1, f1]);
    const got: number[] = [];
    for (let v = 2; v <= 6; v++) {
      feed.publish(t("d-1", v));
      got.push(Number((await fast.next()).value!.transition!.version));
    }
    expect(got).toEqual([2, 3, 4, 5, 6]);
    await expect(slow.next()).rejects.toMatchObject({ code: Code.ResourceExhausted });
    expect(hub.cutOff).toBe(1);
    ac.abort();
    await fast.next();
    expect(feed.subscribers).toBe(0);
  });
});
