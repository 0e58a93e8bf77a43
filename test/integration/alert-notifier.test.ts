import { jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AlertTransition } from "../../src/domain/alerts.js";
import type { Clock } from "../../src/ports/clock.js";
import type { Log } from "../../src/ports/log.js";
import { startNats, type ServiceHandle } from "../harness/index.js";
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from "../harness/webhook-receiver.js";
import { waitFor } from "../support/pipeline.js";
import { createJetStreamRowLog } from "../../src/adapters/nats/row-log.js";
import { createRowLogReader } from "../../src/adapters/nats/row-log-reader.js";
import { DLQ_STREAM, ensureStream } from "../../src/adapters/nats/streams.js";
import { createEventPublisher } from "../../src/adapters/nats/event-publisher.js";
import { ALERTS_STREAM, createAlertConsumer, createAlertPublisher, ensureAlertStream } from "../../src/adapters/nats/alert-stream.js";
import { createKvSilenceStore, watchSilences } from "../../src/adapters/nats/silences-kv.js";
import { createNotifiedKv } from "../../src/adapters/nats/notified-kv.js";
import { rowLogEntries } from "../../src/adapters/clickhouse/encoded-rows.js";
import { systemClock } from "../../src/base/clock.js";
import { ALERT_TRANSITIONS_SCHEMA, ALERT_TRANSITIONS_TABLE } from "../../src/domain/tables.js";
import { RowBinaryWriter } from "../../src/domain/row-binary.js";
import { transitionRow } from "../../actors/alert/index.js";
import { ALERT_RELAY_TABLES, startAlertRelay, startNotifier, verifyWebhook, type AlertRelay, type Notification, type Notifier, type WebhookTarget } from "../../src/alerts/index.js";

/**
 * The notifier side of alerts on a real nats-server (one per test) and real HTTP receivers:
 * transitions written to the row log as the runtime writes them -> relay -> SHOAL_ALERTS ->
 * notifier (silences, storm control) -> signed, retried, idempotent webhooks.
 */
const SECRET = "integration-secret-0123";
const quiet: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function raised(device: string, atMs: number, rule = "offline"): AlertTransition {
  return { alertId: `${device}/${rule}/1`, version: 1, deviceId: device, rule, metric: "", kind: "raised", state: "firing", severity: "warning", atMs, startedAtMs: atMs, value: 0, summary: `${device} went quiet`, by: "", reason: "no reading for 1m", flapping: false };
}
const cleared = (t: AlertTransition, atMs: number): AlertTransition => ({ ...t, version: t.version + 1, kind: "cleared", state: "resolved", atMs, summary: `${t.deviceId} is back` });

describe("alert relay and notifier (real NATS, real HTTP)", () => {
  let nats: ServiceHandle;
  let nc: NatsConnection;
  let rx: WebhookReceiver;
  let rowLog: Awaited<ReturnType<typeof createJetStreamRowLog>>;
  const running: { relay?: AlertRelay; notifier?: Notifier; stopWatch?: () => Promise<void> }[] = [];

  beforeEach(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    rx = await startWebhookReceiver();
    await ensureAlertStream(nc, { replicas: 1, duplicateWindowMs: 120_000 });
    await ensureStream(await jetstreamManager(nc), { name: DLQ_STREAM, subjects: ["shoal.dlq.>"], storage: StorageType.File, retention: RetentionPolicy.Limits, max_age: nanos(3_600_000), num_replicas: 1 });
    rowLog = await createJetStreamRowLog(nc, { writer: "rt-1", keepMs: 3_600_000, replicas: 1 });
  });

  afterEach(async () => {
    for (const r of running.splice(0)) await stopAll(r);
    rowLog.close();
    await rx.close();
    await nc.close();
    await nats.cleanup();
  });

  async function stopAll(r: (typeof running)[number]): Promise<void> {
    await r.notifier?.stop();
    await r.relay?.stop();
    await r.stopWatch?.();
  }

  /**
   * Rows of the transitions into the row log, the way the runtime's sink logs them: object rows
   * (JSONEachRow), or rows encoded by the table's schema (RowBinary, what the device actor's writes become).
   */
  async function logTransitions(ts: readonly AlertTransition[], format: "objects" | "binary" = "objects") {
    const rows = ts.map(transitionRow);
    const entries =
      format === "objects"
        ? rowLogEntries(rowLog.maxEntryBytes, { table: ALERT_TRANSITIONS_TABLE, objects: rows })
        : rowLogEntries(rowLog.maxEntryBytes, { table: ALERT_TRANSITIONS_TABLE, schema: ALERT_TRANSITIONS_SCHEMA, units: [new RowBinaryWriter(ALERT_TRANSITIONS_SCHEMA).encode(rows).binary!] });
    await rowLog.append(entries);
  }

  const target = (o: Partial<WebhookTarget> = {}): WebhookTarget => ({ name: "ops", url: `${rx.url}/hook`, secret: SECRET, ratePerMinute: 100_000, maxAttempts: 4, timeoutMs: 5_000, retryBaseMs: 50, ...o });

  /** What `shoal up` wires: the relay and the notifier on their NATS adapters. */
  async function start(targets: WebhookTarget[], maxPerMinute: number, clock: Clock = systemClock, o: { loseSavesFrom?: number } = {}) {
    const events = createEventPublisher(nc);
    const relay = startAlertRelay({ feed: createRowLogReader(nc, { name: "shoal-alert-relay", tables: ALERT_RELAY_TABLES }), publisher: createAlertPublisher(nc), events, log: quiet });
    const silences = await watchSilences(nc);
    const kv = await createNotifiedKv(nc);
    // `loseSavesFrom`: saves of that stream sequence and later are dropped (what a crash loses).
    const state = { loadState: kv.loadState, saveState: (name: string, seq: number, json: string) => (seq >= (o.loseSavesFrom ?? Infinity) ? Promise.resolve() : kv.saveState(name, seq, json)) };
    const notifier = await startNotifier({ feed: createAlertConsumer(nc, { name: "shoal-notifier" }), marks: kv, state, silences, events, log: quiet, clock }, { targets, storm: { maxPerMinute }, tickMs: 250, saveEvery: 100 });
    const r = { relay, notifier, stopWatch: () => silences.stop(), silences };
    running.push(r);
    return r;
  }

  /** Waits until the relay and the notifier have taken everything logged so far. */
  async function drained(): Promise<void> {
    const jsm = await jetstreamManager(nc);
    await waitFor(
      async () => {
        const relay = await jsm.consumers.info("SHOAL_ROWS", "shoal-alert-relay").catch(() => undefined);
        const notifier = await jsm.consumers.info(ALERTS_STREAM, "shoal-notifier").catch(() => undefined);
        return [relay?.num_pending, relay?.num_ack_pending, notifier?.num_pending, notifier?.num_ack_pending];
      },
      (v) => v.every((n) => n === 0),
      60_000,
      "relay and notifier to drain",
    );
  }

  const bodies = (rs: readonly ReceivedRequest[]) => rs.map((r) => JSON.parse(r.body) as Notification);

  it("sends exactly one signed webhook per transition, with entries logged twice (JSONEachRow and RowBinary) and both restarted mid-way", async () => {
    const now = Date.now();
    const raises = Array.from({ length: 20 }, (_, i) => raised(`pump-${i}`, now + i));
    const clears = raises.map((t, i) => cleared(t, now + 1_000 + i));
    // The same transitions logged twice (a replayed turn: two row log messages, different ids).
    await logTransitions(raises);
    await logTransitions(raises);
    rx.respondAfter(50);
    const first = await start([target()], 1_000);
    await rx.waitForAccepted(8);
    // Restart both mid-way.
    await stopAll(running.pop()!);
    expect(first.notifier.stats().notified).toBeLessThan(20);
    rx.respondAfter(0);
    await logTransitions(clears, "binary");
    await logTransitions([...raises.slice(0, 5), ...clears], "binary");
    await start([target()], 1_000);
    await rx.waitForAccepted(40);
    await drained();
    const got = rx.accepted();
    expect(got).toHaveLength(40);
    const ids = bodies(got).map((b) => b.id);
    expect(new Set(ids)).toEqual(new Set([...raises, ...clears].map((t) => `${t.alertId}:${t.version}`)));
    for (const r of got) {
      expect(r.headers["shoal-idempotency-key"]).toBe((JSON.parse(r.body) as Notification).id);
      expect(verifyWebhook(SECRET, r.headers["shoal-timestamp"] as string, r.body, r.headers["shoal-signature"] as string)).toBe(true);
      expect(verifyWebhook("some-other-secret-value", r.headers["shoal-timestamp"] as string, r.body, r.headers["shoal-signature"] as string)).toBe(false);
    }
    // Every transition of a device arrives in order, as AlertTransition JSON.
    const pump3 = bodies(got).filter((b) => b.transition?.deviceId === "pump-3");
    expect(pump3.map((b) => b.transition)).toEqual([raises[3], clears[3]]);
    // The stream holds each transition once (the duplicates fell within the duplicate window).
    const info = await (await jetstreamManager(nc)).streams.info(ALERTS_STREAM);
    expect(info.state.messages).toBe(40);
  });

  it("delivers once to a receiver that fails twice with 500, after retries", async () => {
    rx.failNext(2);
    const n = await start([target()], 1_000);
    await logTransitions([raised("valve-1", Date.now())]);
    await rx.waitForAccepted(1);
    await drained();
    expect(rx.requests.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(new Set(rx.requests.map((r) => r.headers["shoal-idempotency-key"]))).toEqual(new Set(["valve-1/offline/1:1"]));
    expect(n.notifier.stats()).toMatchObject({ notified: 1, retried: 2, deadLettered: 0 });
  });

  it("dead-letters on shoal.dlq.notifier, with the reason, what a receiver keeps refusing", async () => {
    const bad = await startWebhookReceiver();
    try {
      bad.failAlways(503);
      const dlq: { stage: string; code: string; reason: string; source: string; payloadBase64: string }[] = [];
      const sub = nc.subscribe("shoal.dlq.notifier", { callback: (_e, m) => void dlq.push(m.json()) });
      const n = await start([target(), target({ name: "broken", url: `${bad.url}/hook`, maxAttempts: 3, retryBaseMs: 20 })], 1_000);
      await logTransitions([raised("fan-1", Date.now())]);
      await waitFor(async () => dlq.length, (k) => k >= 1, 30_000, "a dead letter");
      await drained();
      sub.unsubscribe();
      expect(dlq).toHaveLength(1);
      expect(dlq[0]).toMatchObject({ stage: "notifier", code: "webhook_failed", reason: "broken: HTTP 503 Service Unavailable after 3 attempt(s)", source: "webhook broken" });
      expect(JSON.parse(Buffer.from(dlq[0]!.payloadBase64, "base64").toString("utf8"))).toMatchObject({ id: "fan-1/offline/1:1", type: "transition" });
      expect(bad.requests).toHaveLength(3);
      expect(rx.accepted()).toHaveLength(1); // the healthy target got it
      expect(n.notifier.stats().targets).toMatchObject({ ops: { delivered: 1, deadLettered: 0 }, broken: { delivered: 0, deadLettered: 1, retried: 2 } });
      // It is durable in SHOAL_DLQ too.
      const stored = await (await jetstreamManager(nc)).streams.getMessage(DLQ_STREAM, { last_by_subj: "shoal.dlq.notifier" });
      expect(stored?.json<{ code: string }>().code).toBe("webhook_failed");
    } finally {
      await bad.close();
    }
  });

  it("does not notify what a silence covers", async () => {
    const n = await start([target()], 1_000);
    const store = await createKvSilenceStore(nc);
    const now = Date.now();
    await store.put({ id: "maint-42", deviceId: "mixer-1", untilMs: now + 3_600_000, createdAtMs: now, by: "ann", reason: "maintenance" });
    await store.put({ id: "known-nodata", rule: "no-data", untilMs: now + 3_600_000, createdAtMs: now, by: "bob", reason: "known gap" });
    await waitFor(async () => n.silences.current().length, (k) => k === 2, 10_000, "the notifier to see the silences");
    await logTransitions([raised("mixer-1", now), raised("mixer-2", now, "no-data"), raised("mixer-2", now), raised("mixer-3", now)]);
    await rx.waitForAccepted(2);
    await drained();
    expect(bodies(rx.accepted()).map((b) => b.id).sort()).toEqual(["mixer-2/offline/1:1", "mixer-3/offline/1:1"]);
    expect(n.notifier.stats()).toMatchObject({ silenced: 2, notified: 2 });
    expect(await store.remove("maint-42")).toBe(true);
    expect(await store.remove("maint-42")).toBe(false);
    expect((await store.list()).map((s) => s.id)).toEqual(["known-nodata"]);
  });

  it("turns a storm of 2,000 raises and their clears into at most maxPerMinute*2 + 2 notifications", async () => {
    const maxPerMinute = 5;
    // The notifier's clock can be moved ahead: the storm's quiet minute passes without waiting for it.
    let ahead = 0;
    const clock: Clock = { now: () => Date.now() + ahead, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout };
    const first = await start([target()], maxPerMinute, clock, { loseSavesFrom: 1_000 });
    const at = Date.now();
    const raises = Array.from({ length: 2_000 }, (_, i) => raised(`dev-${String(i).padStart(4, "0")}`, at));
    await logTransitions(raises);
    await logTransitions(raises.map((t) => cleared(t, at + 1_000)));
    // A crash in the middle of the storm (its last saves lost): the new notifier rebuilds the storm
    // state from the saved one and the transitions acknowledged after it, and goes on.
    await waitFor(async () => first.notifier.stats().transitions, (k) => k >= 1_300, 60_000, "a third of the storm");
    await stopAll(running.pop()!);
    const before = first.notifier.stats();
    expect(before.openStorm).toBeDefined();
    const n = await start([target()], maxPerMinute, clock);
    const after = n.notifier.stats();
    expect(after.replayed).toBeGreaterThanOrEqual(300);
    await drained();
    const total = n.notifier.stats();
    expect(before.transitions + total.transitions).toBe(4_000);
    expect(before.grouped + total.grouped).toBe(2 * (2_000 - maxPerMinute));
    expect(before.stormsStarted + total.stormsStarted).toBe(1);
    ahead = 3 * 60_000;
    await waitFor(async () => bodies(rx.accepted()).filter((b) => b.type === "storm-ended").length, (k) => k === 1, 30_000, "the storm's end");
    const got = bodies(rx.accepted());
    expect(got.length).toBeLessThanOrEqual(maxPerMinute * 2 + 2);
    expect(got.filter((b) => b.type === "transition" && b.transition?.kind === "raised")).toHaveLength(maxPerMinute);
    expect(got.filter((b) => b.type === "transition" && b.transition?.kind === "cleared")).toHaveLength(maxPerMinute);
    expect(got.filter((b) => b.type === "storm-started")).toHaveLength(1);
    const end = got.find((b) => b.type === "storm-ended")!;
    expect(end.storm).toMatchObject({ alertsGrouped: 2_000 - maxPerMinute, stillOpen: 0, byRule: { offline: 2_000 - maxPerMinute } });
  });
});
