import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startClickHouse, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { simulate, type PublishedReading } from "../../src/simulator/simulator.js";
import { PLATFORM_EVENTS_SUBJECT } from "../../src/domain/subjects.js";
import { chQuery, exited, pipelineEnv, spawnRole, waitFor } from "../support/pipeline.js";
import { sleep } from "../../src/base/clock.js";

/**
 * Chaos: the journal server loses its store. While 40 devices publish at QoS 1 through a `shoal
 * bridge` and a `shoal runtime` (child processes), nats-server is SIGKILLed and started again on an
 * EMPTY store (its JetStream folder deleted: READINGS, SHOAL_DLQ and the snapshot bucket are gone).
 * Nobody touches Shoal: it must notice, re-create the journal, say so loudly (an event on
 * shoal.events.platform, an error line in the role's log) and store every reading published after
 * NATS is back, the first within 10 s. Readings the old journal had acknowledged but the runtime had
 * not yet processed are lost with the store; they are counted and printed, not asserted.
 */
const DEVICES = 40;
const RATE = 300;
const DB = "journal_loss";

describe("journal server restarted on an empty store", () => {
  let nats: ServiceHandle;
  let mqtt: ServiceHandle;
  let ch: ServiceHandle;
  beforeAll(async () => {
    [nats, mqtt, ch] = await Promise.all([startNats(), startMosquitto(), startClickHouse()]);
  });
  afterAll(async () => {
    await Promise.all([nats?.cleanup(), mqtt?.cleanup(), ch?.cleanup()]);
  });

  it("heals by itself, reports the loss, and stores every reading published after the restart", async () => {
    const env = pipelineEnv({ nats: nats.url, mqtt: mqtt.url, clickhouse: ch.url }, {
      SHOAL__CLICKHOUSE__DATABASE: DB,
      SHOAL__LOG__LEVEL: "info",
      SHOAL__GRPC__WEBPORT: "0",
      SHOAL__ADMIN__PORT: "0",
      SHOAL__RUNTIME__WORKERS: "1",
      SHOAL_CLUSTER: "off",
    });
    const logs = { runtime: "", bridge: "" };
    const runtime = spawnRole("runtime", { ...env, SHOAL__NODEID: "jl-runtime" }, (s) => (logs.runtime += s));
    const bridge = spawnRole("bridge", { ...env, SHOAL__NODEID: "jl-bridge" }, (s) => (logs.bridge += s));
    const reap = () => {
      for (const c of [runtime, bridge]) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    };
    process.once("exit", reap);
    let watcher: NatsConnection | undefined;
    const abort = new AbortController();
    try {
      await waitFor(async () => logs.runtime, (o) => o.includes("runtime started"), 60_000, "the runtime to start");
      await waitFor(async () => logs.bridge, (o) => o.includes("bridge started"), 60_000, "the bridge to start");
      // The platform's own events, seen by an outside subscriber that reconnects like any client.
      watcher = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
      const events: Array<{ kind: string; role: string; detail: Record<string, unknown> }> = [];
      watcher.subscribe(PLATFORM_EVENTS_SUBJECT, { callback: (_e, m) => void events.push(m.json()) });
      await watcher.flush();

      const published: PublishedReading[] = [];
      const sim = simulate({ url: mqtt.url, devices: DEVICES, rate: RATE, durationSec: 120, devicePrefix: "jl", anomalyRate: 0, signal: abort.signal, onPublished: (r) => published.push(r) }).catch((e: Error) => e);
      const rows = async (where = "1") => Number((await chQuery<{ n: string }>(ch.url, DB, `SELECT count() AS n FROM readings WHERE ${where}`).catch(() => [{ n: "0" }]))[0]!.n);
      await waitFor(() => rows(), (n) => n >= 1000, 60_000, "1,000 rows before the fault");

      // The fault: SIGKILL, store gone, 3 s down (devices keep publishing), back empty.
      await nats.kill();
      const killAt = Date.now();
      await rm(join(nats.dataDir, "jetstream"), { recursive: true, force: true });
      await sleep(3000);
      await nats.restart();
      const backAt = Date.now();

      // New rows: readings measured after NATS was back (ts_ms is the device's clock, this machine's).
      const healed = await waitFor(() => rows(`ts_ms >= ${backAt}`), (n) => n > 0, 30_000, "a row of a reading published after NATS came back").then(
        () => Date.now() - backAt,
        () => Infinity,
      );
      await sleep(8000); // keep publishing on the healed pipeline
      abort.abort();
      await sim;
      const afterBack = published.filter((r) => r.sentAtMs >= backAt);
      const afterKill = published.filter((r) => r.sentAtMs >= killAt);
      const stored = async () => new Set((await chQuery<{ d: string; s: string }>(ch.url, DB, "SELECT device_id AS d, toString(seq) AS s FROM readings")).map((r) => `${r.d}/${r.s}`));
      const missing = async (of: PublishedReading[]) => {
        const have = await stored();
        return of.filter((r) => !have.has(`${r.deviceId}/${r.seq}`)).length;
      };
      // Everything in flight drains (bounded); then the exact comparison below.
      await waitFor(() => missing(afterBack), (n) => n === 0, 20_000, "every reading published after NATS came back to be stored").catch(() => undefined);
      const totalRows = await rows();
      const figures = {
        acknowledgedToDevices: published.length,
        storedRows: totalRows,
        publishedAfterBack: afterBack.length,
        missingAfterBack: await missing(afterBack),
        publishedAfterKill: afterKill.length,
        missingAfterKill: await missing(afterKill),
        missingBeforeKill: await missing(published.filter((r) => r.sentAtMs < killAt)),
        healMs: Number.isFinite(healed) ? healed : "never (30 s)",
        incidents: events.map((e) => `${e.role}:${e.kind}`),
      };
      console.log(`journal-loss figures: ${JSON.stringify(figures)}`);
      if (process.env.SHOAL_TEST_KEEP_LOGS) await writeFile(process.env.SHOAL_TEST_KEEP_LOGS, `${logs.runtime}\n----- bridge -----\n${logs.bridge}`);

      expect(healed).toBeLessThan(10_000);
      expect(afterBack.length).toBeGreaterThan(DEVICES * 10);
      expect(figures.missingAfterBack).toBe(0);
      // Loud: the loss came out as an event on the platform subject and an error line in the log.
      expect(events.some((e) => /^journal\.(stream-missing|sequence-reset)$/.test(e.kind))).toBe(true);
      const errorLines = logs.runtime.split("\n").filter((l) => l.includes('"level":50') && l.includes('"incident":"journal.'));
      expect(errorLines.length).toBeGreaterThan(0);
    } finally {
      abort.abort();
      await watcher?.close().catch(() => {});
      reap();
      await Promise.all([exited(runtime), exited(bridge)]);
      process.off("exit", reap);
    }
  });
});
