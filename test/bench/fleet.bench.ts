/**
 * npm run bench:fleet [-- --duration 600 --devices 1000 --rate 2000 --seed 1 --flush-as-batch --env "SHOAL__MQTT__CONNECTIONS=1 ..."]
 *
 * A fleet that behaves like real devices (docs/adr/0011-sequence-model.md) against `shoal up` (one
 * process, as bench:e2e starts it) on real services started by test/harness (Mosquitto, nats-server
 * with JetStream, ClickHouse), with wrapping counters configured for the simulator's `-s8-`, `-s16-`
 * and `-s32-` devices. The simulator (src/simulator, in this process) runs 1000 devices at 2000
 * readings/s: about 10 % of the devices reboot during the run (half of the devices send a boot
 * number), about 10 % go offline for 60 s and flush their backlog when they come back, 1 % count
 * nothing and 1 % count with an 8-bit wrapping counter; every acknowledged reading is recorded.
 *
 * Once publishing stopped and ClickHouse stopped growing it prints (never asserts): acknowledged vs
 * stored (also per (device, timestamp)), the bridge's and device actors' counters, dead letters and
 * lifecycle events, the equation published = stored + dead-lettered + counted duplicates,
 * restarted events against the reboots, offline events inside flushes, the latency of live readings
 * with and without flushes running, and whether the stored scores of ~20 sample devices equal a
 * replay of their rows in time order.
 */
import { parseArgs } from "node:util";
import { startClickHouse, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { resolveConfig } from "../../src/config/index.js";
import { deviceSettingsOf } from "../../src/cli/roles/runtime-role.js";
import { simulate, type SimulateStats } from "../../src/simulator/simulator.js";
import { shoalCounters, startShoal, type ShoalShape } from "./e2e/shoal.js";
import { LatencySampler } from "./fleet/latency.js";
import { PublishedLog, type DeviceHistory } from "./fleet/published.js";
import { chOf, chSize, deviceTsDiff, printCounters, printCounts, printEquation, printLatency, printOffline, printRestarts, storedCounts, waitUntilStill } from "./fleet/report.js";
import { replayDevice, type ReplayResult } from "./fleet/replay.js";
import { journalReadings } from "../support/journal-readings.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "600" },
    devices: { type: "string", default: "1000" },
    rate: { type: "string", default: "2000" },
    seed: { type: "string", default: "1" },
    "flush-as-batch": { type: "boolean", default: false },
    "sample-every": { type: "string", default: "100" },
    "replay-devices": { type: "string", default: "20" },
    env: { type: "string", default: "" },
  },
});
const duration = Number(values.duration);
const devices = Number(values.devices);
const rate = Number(values.rate);
const seed = Number(values.seed);
// Per device per second, so that 10 % of the devices see at least one in `duration` seconds.
const perSec10pc = 1 - Math.pow(0.9, 1 / duration);
const DB = "bench_fleet";
/** Extra SHOAL__* settings for Shoal (and the replay), "K=V K2=V2". */
const extraEnv = Object.fromEntries(values.env.split(/\s+/).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
const WRAP = '[{match: "*-s8-*", bits: 8}, {match: "*-s16-*", bits: 16}, {match: "*-s32-*", bits: 32}]';

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;
const [mq, nats, ch] = await Promise.all([startMosquitto(), startNats(), startClickHouse()]);
const services: ServiceHandle[] = [mq, nats, ch];
let shoal: ShoalShape | undefined;
try {
  const env = {
    SHOAL_ENV: "test",
    SHOAL__NATS__URL: nats.url,
    SHOAL__MQTT__URL: mq.url,
    SHOAL__CLICKHOUSE__URL: ch.url,
    SHOAL__CLICKHOUSE__DATABASE: DB,
    SHOAL__SEQUENCE__WRAP: WRAP,
    ...extraEnv,
  };
  shoal = await startShoal("up", env);
  const cfg = resolveConfig({ env }).config;
  const settings = deviceSettingsOf(cfg);
  const q = chOf(ch.url, DB);
  const published = new PublishedLog();
  const sampler = new LatencySampler(ch.url, DB, Number(values["sample-every"]));
  const options = {
    devices,
    rate,
    durationSec: duration,
    rebootRate: perSec10pc,
    bootFraction: 0.5,
    offlineRate: perSec10pc,
    offlineSec: 60,
    flushAsBatch: values["flush-as-batch"],
    counterMix: { none: 0.01, bits8: 0.01 },
    counterPrefixes: true,
    format: "mixed" as const,
    seed,
    devicePrefix: "fleet",
  };
  console.log(`bench:fleet — shoal up (one process) on this machine; sequence.wrap ${WRAP}${values.env ? `; ${values.env}` : ""}`);
  console.log(`simulator: ${JSON.stringify(options)}`);
  let lastLine = 0;
  sampler.start();
  const sim: SimulateStats = await simulate({
    url: mq.url,
    ...options,
    onPublished: (r) => {
      published.add(r);
      sampler.offer(r);
    },
    onProgress: (s) => {
      if (Date.now() - lastLine < 10_000) return;
      lastLine = Date.now();
      void chSize(q).then((rows) =>
        console.error(`[${elapsed()}] sent ${s.sent} acked ${s.acked} failed ${s.failed} reboots ${s.reboots} offline ${s.offlinePeriods} buffered ${s.buffered} flushed ${s.flushed}; readings/dead letters/events in ClickHouse ${rows}`),
      );
    },
  });
  console.error(`[${elapsed()}] publishing done: ${JSON.stringify(sim)}; waiting for ClickHouse to stop growing`);
  const waited = await waitUntilStill(q, 10_000, 300_000);
  await sampler.stop();
  console.error(`[${elapsed()}] ClickHouse still for 10 s (waited ${waited} ms)`);
  const counters = await shoalCounters(shoal.statusPorts.values());
  if (!counters.reachable) console.error("warning: a status page did not answer; counters may be missing");

  console.log(`\nbench:fleet — ${devices} devices at ${rate} readings/s for ${duration} s, seed ${seed}${options.flushAsBatch ? ", backlogs flushed as batch payloads" : ""}`);
  console.log(
    `simulator: sent ${sim.sent}, acked ${sim.acked}, failed ${sim.failed}, reboots ${sim.reboots}, offline periods ${sim.offlinePeriods}, flushed ${sim.flushed}, anomalies injected ${sim.anomaliesInjected}, ${(sim.elapsedMs / 1000).toFixed(1)} s`,
  );
  const stored = await storedCounts(q);
  const journalOf = async (ids: string[]) => new Map([...(await journalReadings(nats.url, cfg.nats.stream, cfg.nats.partitions, ids))].map(([id, xs]) => [id, xs.map((x) => x.reading)]));
  await printCounts(published, sim, stored, await deviceTsDiff(q, published), journalOf);
  printCounters(counters, stored);
  printEquation(published.acked, counters, stored);
  const histories = [...published.devices.keys()].sort().map((id) => published.history(id));
  await printRestarts(q, histories, sim);
  const flushSeconds = await printOffline(q, histories, sim);
  printLatency(sampler.samples, flushSeconds);
  await printReplay(histories, Number(values["replay-devices"]));

  /** ~n devices over five groups, evenly spread by id within each group. */
  async function printReplay(hs: DeviceHistory[], n: number): Promise<void> {
    const group = (h: DeviceHistory) =>
      h.log.kind === "s8" || h.log.kind === "nc" ? `${h.log.kind === "s8" ? "8-bit wrapping" : "no counter"}` : (h.reboots ?? 0) > 0 && h.flushes.length > 0 ? "rebooted + flushed" : (h.reboots ?? 0) > 0 ? "rebooted" : h.flushes.length > 0 ? "flushed" : "plain";
    const byGroup = new Map<string, DeviceHistory[]>();
    for (const h of hs) byGroup.set(group(h), [...(byGroup.get(group(h)) ?? []), h]);
    const per = Math.max(1, Math.round(n / 6));
    const picks = new Map<string, DeviceHistory[]>();
    for (const g of ["rebooted", "flushed", "rebooted + flushed", "plain", "8-bit wrapping", "no counter"]) {
      const members = byGroup.get(g) ?? [];
      picks.set(g, members.filter((_, i) => members.length <= per || i % Math.floor(members.length / per) === 0).slice(0, per));
    }
    const journal = await journalOf([...picks.values()].flat().map((h) => h.log.id));
    const results = new Map<string, ReplayResult[]>();
    for (const [g, pick] of picks) {
      const rs: ReplayResult[] = [];
      for (const h of pick) rs.push(await replayDevice(ch.url, DB, h.log.id, settings, published, journal.get(h.log.id) ?? []));
      results.set(g, rs);
    }
    console.log("\n== detector state at the end vs a replay in time order (fresh device actor, same settings, explanations off; the journal read back from JetStream for the actor's input order)");
    console.table(
      Object.fromEntries(
        [...results].map(([g, rs]) => [
          g,
          {
            devices: rs.length,
            rows: rs.reduce((a, r) => a + r.rows, 0),
            "rows with other scores": rs.reduce((a, r) => a + r.differ, 0),
            "of which > 1e-9": rs.reduce((a, r) => a + r.differBeyond1e9, 0),
            "devices differing": rs.filter((r) => r.differ > 0).length,
            "rows not replayed": rs.reduce((a, r) => a + r.notReplayed, 0),
            "rows in another epoch": rs.reduce((a, r) => a + r.epochDiffer, 0),
            "journal readings reaching the actor after a later-measured one": rs.reduce((a, r) => a + r.arrivedLate, 0),
            "rows ≠ the journal replayed in its order": rs.reduce((a, r) => a + r.differFromArrivalOrder, 0),
          },
        ]),
      ),
    );
    const differing = [...results.values()].flat().filter((r) => r.differ > 0 || r.notReplayed > 0 || r.epochDiffer > 0);
    for (const r of differing.slice(0, 10)) {
      console.log(
        `  ${r.device}: ${r.rows} rows, ${r.differ} with other scores than the time-order replay (first at row ${r.firstDiffAt} in time order), ${r.notReplayed} not replayed, ${r.epochDiffer} in another epoch; ` +
          `journal: ${r.journalReadings} readings, ${r.arrivedLate} reached the actor after a later-measured one; ${r.differFromArrivalOrder} rows differ from the journal replayed in its order`,
      );
    }
  }
} finally {
  await shoal?.stop();
  await Promise.all(services.map((s) => s.cleanup()));
}
