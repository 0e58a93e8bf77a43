/**
 * Alert notifier benchmark (docs/adr/0016-alerts.md).
 *
 *   npm run bench:alerts -- [--devices 10000] [--max-per-minute 5] [--individual 2000]
 *
 * On a real nats-server (test/harness) with a real HTTP webhook receiver:
 * 1. storm: `--devices` device actors (actors/device, default alert rules) see a spike at the same
 *    instant, then ordinary readings: each raises an alert, asks the gateway to explain its anomaly,
 *    and clears it (test/bench/alert-storm-actors.ts). Their Explain calls go through a real gateway
 *    over an OpenAI-compatible double (LLM calls counted); their transitions are written to the row
 *    log as the runtime's sink logs them, the relay publishes them to SHOAL_ALERTS, then the
 *    notifier (storm control at `--max-per-minute`) takes them;
 * 2. individual: `--individual` transitions that are all notified (storm control out of reach), the
 *    cost of a webhook delivery (idempotency check, signed POST, mark).
 * The relay and the notifier are timed apart (the notifier starts once the relay has drained), so
 * the notifier's cost per transition is its own (wall and CPU of this process). The storm's quiet
 * minute is not waited for: the notifier's clock is moved 3 minutes ahead once it has drained.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { performance } from "node:perf_hooks";
import type { AlertTransition } from "../../src/domain/alerts.js";
import type { Clock } from "../../src/ports/clock.js";
import type { Log } from "../../src/ports/log.js";
import { startNats } from "../harness/index.js";
import { startWebhookReceiver } from "../harness/webhook-receiver.js";
import { connectNats, type NatsConnection } from "../../src/adapters/nats/connection.js";
import { createJetStreamRowLog } from "../../src/adapters/nats/row-log.js";
import { createRowLogReader } from "../../src/adapters/nats/row-log-reader.js";
import { DLQ_STREAM, ensureStream } from "../../src/adapters/nats/streams.js";
import { createEventPublisher } from "../../src/adapters/nats/event-publisher.js";
import { ALERTS_STREAM, createAlertConsumer, createAlertPublisher, ensureAlertStream } from "../../src/adapters/nats/alert-stream.js";
import { watchSilences } from "../../src/adapters/nats/silences-kv.js";
import { createNotifiedKv } from "../../src/adapters/nats/notified-kv.js";
import { rowLogEntries } from "../../src/adapters/clickhouse/encoded-rows.js";
import { sleep, systemClock } from "../../src/base/clock.js";
import { ALERT_TRANSITIONS_TABLE } from "../../src/domain/tables.js";
import { transitionRow } from "../../actors/alert/index.js";
import { ALERT_RELAY_TABLES, startAlertRelay, startNotifier, type Notification } from "../../src/alerts/index.js";
import type { Row } from "../../src/ports/row-sink.js";
import { actorStorm, stormLlmCalls } from "./alert-storm-actors.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
  return v;
}
const DEVICES = Number(arg("devices", "10000"));
const MAX_PER_MINUTE = Number(arg("max-per-minute", "5"));
const INDIVIDUAL = Number(arg("individual", "2000"));
const quiet: Log = { debug: () => {}, info: () => {}, warn: (...a: unknown[]) => console.warn(...a), error: (...a: unknown[]) => console.error(...a) };

function raised(device: string, atMs: number): AlertTransition {
  return { alertId: `${device}/offline/1`, version: 1, deviceId: device, rule: "offline", metric: "", kind: "raised", state: "firing", severity: "warning", atMs, startedAtMs: atMs, value: 60_000, summary: `${device} went quiet`, by: "", reason: "no reading for 1m", flapping: false };
}
const cleared = (t: AlertTransition, atMs: number): AlertTransition => ({ ...t, version: 2, kind: "cleared", state: "resolved", atMs, summary: `${t.deviceId} is back` });

async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface Result {
  scenario: string;
  transitions: number;
  received: number;
  grouped: number;
  stormStarts: number;
  stormEnds: number;
  relayMs: number;
  notifierMs: number;
  usPerTransition: number;
  cpuUsPerTransition: number;
}

async function scenario(label: string, rows: readonly Row[], maxPerMinute: number, storm: boolean): Promise<Result> {
  const ts = rows;
  const nats = await startNats();
  // As the roles connect (no async traces: the client would build two stack-captured errors per request).
  const nc: NatsConnection = await connectNats(nats.url, "alerts-bench");
  const rx = await startWebhookReceiver();
  try {
    const jsm = await jetstreamManager(nc);
    await ensureAlertStream(nc, { replicas: 1, duplicateWindowMs: 120_000 });
    await ensureStream(jsm, { name: DLQ_STREAM, subjects: ["shoal.dlq.>"] });
    const rowLog = await createJetStreamRowLog(nc, { writer: "bench", keepMs: 3_600_000, replicas: 1 });
    const events = createEventPublisher(nc);
    // The rows as the runtime's sink logs object rows.
    await rowLog.append(rowLogEntries(rowLog.maxEntryBytes, { table: ALERT_TRANSITIONS_TABLE, objects: [...rows] }));

    // The relay alone, until SHOAL_ALERTS holds every transition.
    const r0 = performance.now();
    const relay = startAlertRelay({ feed: createRowLogReader(nc, { name: "shoal-alert-relay", tables: ALERT_RELAY_TABLES, batch: 256 }), publisher: createAlertPublisher(nc), events, log: quiet });
    await until("the relay", async () => (await jsm.streams.info(ALERTS_STREAM)).state.messages >= ts.length);
    const relayMs = performance.now() - r0;
    await relay.stop();

    // The notifier alone, until it has taken every transition.
    let ahead = 0;
    const clock: Clock = { now: () => Date.now() + ahead, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout };
    const silences = await watchSilences(nc);
    const kv = await createNotifiedKv(nc);
    const target = { name: "bench", url: `${rx.url}/hook`, secret: "bench-secret-0123456789", ratePerMinute: 1_000_000, maxAttempts: 3, timeoutMs: 5_000, retryBaseMs: 100 };
    const cpu0 = process.cpuUsage();
    const n0 = performance.now();
    const notifier = await startNotifier({ feed: createAlertConsumer(nc), marks: kv, state: kv, silences, events, log: quiet, clock }, { targets: [target], storm: { maxPerMinute }, tickMs: 250 });
    await until("the notifier", () => notifier.stats().transitions >= ts.length);
    const notifierMs = performance.now() - n0;
    const cpu = process.cpuUsage(cpu0);
    if (storm) {
      ahead = 3 * 60_000;
      await until("the storm's end", () => notifier.stats().stormsEnded >= 1, 30_000);
    }
    const st = notifier.stats();
    await notifier.stop();
    await silences.stop();
    rowLog.close();
    const got = rx.accepted().map((q) => JSON.parse(q.body) as Notification);
    return {
      scenario: label,
      transitions: ts.length,
      received: got.length,
      grouped: st.grouped,
      stormStarts: got.filter((g) => g.type === "storm-started").length,
      stormEnds: got.filter((g) => g.type === "storm-ended").length,
      relayMs: Math.round(relayMs),
      notifierMs: Math.round(notifierMs),
      usPerTransition: Math.round((notifierMs * 1000) / ts.length),
      cpuUsPerTransition: Math.round((cpu.user + cpu.system) / ts.length),
    };
  } finally {
    await rx.close();
    await nc.close();
    await nats.cleanup();
  }
}

console.log(`alerts bench: storm of ${DEVICES.toLocaleString()} devices (max ${MAX_PER_MINUTE}/min), then ${INDIVIDUAL.toLocaleString()} individual transitions`);
const at = Date.now();
const storm = actorStorm(DEVICES);
const llm = await stormLlmCalls(storm.explainCalls);
const results: Result[] = [];
results.push(await scenario(`storm: ${DEVICES} device actors spike at once`, storm.transitions, MAX_PER_MINUTE, true));
const solo = Array.from({ length: INDIVIDUAL / 2 }, (_, i) => raised(`solo-${String(i).padStart(6, "0")}`, at));
results.push(await scenario(`individual ${INDIVIDUAL}`, [...solo, ...solo.map((t) => cleared(t, at + 1_000))].map(transitionRow), 1_000_000, false));

const cols: [keyof Result, string][] = [
  ["scenario", "scenario"],
  ["transitions", "transitions"],
  ["received", "webhooks received"],
  ["grouped", "grouped"],
  ["stormStarts", "storm starts"],
  ["stormEnds", "storm ends"],
  ["relayMs", "relay drain ms"],
  ["notifierMs", "notifier drain ms"],
  ["usPerTransition", "notifier µs/transition"],
  ["cpuUsPerTransition", "notifier CPU µs/transition"],
];
const cell = (r: Result, k: keyof Result) => String(r[k]);
const widths = cols.map(([k, h]) => Math.max(h.length, ...results.map((r) => cell(r, k).length)));
console.log(`| ${cols.map(([, h], i) => h.padEnd(widths[i]!)).join(" | ")} |`);
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const r of results) console.log(`| ${cols.map(([k], i) => cell(r, k).padEnd(widths[i]!)).join(" | ")} |`);
const s = results[0]!;
console.log(`storm: ${storm.anomalies} anomalies, ${s.transitions} alert transitions (${storm.transitions.filter((r) => r.kind === "raised").length} raised) -> ${s.received} webhooks (bound ${MAX_PER_MINUTE * 2 + 2})`);
console.log(`storm: ${storm.explainCalls.length} Explain calls from the actors -> ${llm.llmCalls} LLM calls (cache hits ${llm.cached}, coalesced ${llm.coalesced}, $${llm.costUsd.toFixed(5)}, ${Math.round(llm.ms)} ms; OpenAI-compatible double)`);
process.exit(0);
