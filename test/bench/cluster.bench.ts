/**
 * npm run bench:cluster [-- --readings 50000 --devices 2000 --partitions 64 --rate 1000 --only throughput,rebalance,recovery,restart --restart-devices 100000 --batch 64 --subjects partition|device]
 *
 * The runtime tier of a cluster on real services (nats-server, ClickHouse, Consul from
 * test/harness), with `shoal runtime` processes in cluster mode and the journal fed directly by
 * pipelined JetStream publishes from this process (no MQTT/bridge, so the runtime is what is
 * measured), laid out as the bridge writes it: a partition's readings batched (up to --batch per
 * message) on the partition's one subject. `--subjects device` writes one reading per message on
 * its device's subject instead — a journal of 100,000 subjects, which nats-server 2.9 reads far
 * more slowly when a consumer is made or asked for its state. Prints:
 * - throughput: readings/s processed (journal → actors → ClickHouse → ack) with 1, 2 and 3 nodes,
 *   from the first publish of --readings readings to the last ack;
 * - recovery: with 3 nodes and a steady stream at --rate, SIGKILL one node; time until all of its
 *   partitions are owned again (lease history) and until they are caught up (lag back to ~0);
 * - rebalance lag: with 2 nodes at --rate, a third joins; the maximum per-partition lag
 *   (undelivered + unacked) sampled every 200 ms until converged, against the same sampling at rest;
 * - restart: a single-node runtime with --restart-devices devices in snapshots (one reading each,
 *   then a graceful stop), restarted, streaming at --rate, SIGKILLed after 5 s and started again:
 *   time from that start until every partition is owned ("runtime started") and until every
 *   partition is caught up (lag under --rate/P + 500).
 * All processes share the machine's cores; a table, not a verdict.
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { startClickHouse, startConsul, startNats, type ServiceHandle } from "../harness/index.js";
import { connectNats } from "../../src/adapters/nats/connection.js";
import { JournalPublisher } from "../../src/adapters/nats/journal-publisher.js";
import { ensureJournal } from "../../src/adapters/nats/streams.js";
import { encodeReadingBatchWire, encodeReadingWire } from "../../src/domain/reading-wire-write.js";
import { journalSubject, readingSubject } from "../../src/domain/subjects.js";
import { partitionOf } from "../../src/domain/partition.js";
import { type PartitionJournal } from "../../src/cluster/index.js";
import { createNatsPartitionJournal } from "../../src/adapters/nats/partition-journal.js";
import { pipelineEnv, waitFor } from "../support/pipeline.js";
import { spawnRuntime, testAdmin, waitConverged, type RuntimeProc } from "../chaos/cluster-support.js";

const { values } = parseArgs({
  options: {
    readings: { type: "string", default: "50000" },
    devices: { type: "string", default: "2000" },
    partitions: { type: "string", default: "64" },
    rate: { type: "string", default: "1000" },
    only: { type: "string", default: "throughput,rebalance,recovery,restart" },
    "restart-devices": { type: "string", default: "100000" },
    batch: { type: "string", default: "64" },
    subjects: { type: "string", default: "partition" },
  },
});
const READINGS = Number(values.readings);
const DEVICES = Number(values.devices);
const P = Number(values.partitions);
const RATE = Number(values.rate);
/** Most readings per journal message. */
const BATCH = Number(values.batch);
/** "partition": journal messages on the partition's one subject, as the bridge writes them; "device": one reading per message on its device's subject (100,000 subjects for 100,000 devices). */
const PER_DEVICE = values.subjects === "device";
if (!PER_DEVICE && values.subjects !== "partition") throw new Error(`--subjects must be partition or device, not ${values.subjects}`);
const ONLY = new Set(values.only.split(","));

const [ch, consul] = await Promise.all([startClickHouse(), startConsul()]);
const table: Array<[string, string]> = [];
/** The 1-minute load average (`uptime`) when a row was measured: the machine is shared. */
const load = () => `load ${loadavg()[0]!.toFixed(1)}`;
let nats: ServiceHandle | undefined;
let procs: RuntimeProc[] = [];

/** A fresh journal + ClickHouse database + Consul env per scenario. */
async function scenario(name: string) {
  await nats?.cleanup();
  nats = await startNats();
  const env = pipelineEnv(
    { nats: nats.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url },
    { SHOAL_ENV: name, SHOAL__CLICKHOUSE__DATABASE: `bench_${name}`, SHOAL__NATS__PARTITIONS: String(P), SHOAL__CONSUL__URL: consul.url, SHOAL__CONSUL__REGISTERSERVICES: "false" },
  );
  const nc = await connectNats(nats.url, "bench-cluster");
  await ensureJournal(nc, { stream: "READINGS", partitions: P, duplicateWindowMs: 120_000, maxAgeMs: 86_400_000, maxAckPending: 20_000, replicas: 1 });
  const journal = await createNatsPartitionJournal(nc, "READINGS");
  const pub = JournalPublisher.create(nc, 512);
  const { admin, close } = testAdmin(consul.url, name, P);
  const seqs = new Map<string, number>();
  let published = 0;
  let messages = 0;
  // Journal messages as the bridge writes them: a partition's readings batched (here up to
  // BATCH per message) on the partition's one subject.
  const publish = (n: number, devices = DEVICES): Promise<unknown> => {
    const all: Promise<unknown>[] = [];
    const open = new Map<number, Uint8Array[]>();
    const flush = (p: number, parts: Uint8Array[]) => all.push(pub.publish(journalSubject(p), encodeReadingBatchWire(parts), `bench-${name}-${++messages}`));
    for (let i = 0; i < n; i++) {
      const deviceId = `b-${(published + i) % devices}`;
      const seq = (seqs.get(deviceId) ?? 0) + 1;
      seqs.set(deviceId, seq);
      const p = partitionOf(deviceId, P);
      const data = encodeReadingWire({ deviceId, seq, tsMs: Date.now(), metrics: { t: 20 + Math.sin(seq / 10) + ((seq * 7919) % 13) / 13, h: 40 + (seq % 7) } });
      if (PER_DEVICE) {
        all.push(pub.publish(readingSubject(p, deviceId), data, `${deviceId}:${seq}`));
        continue;
      }
      const parts = open.get(p) ?? [];
      parts.push(data);
      if (parts.length < BATCH) open.set(p, parts);
      else {
        flush(p, parts);
        open.delete(p);
      }
    }
    for (const [p, parts] of open) flush(p, parts);
    published += n;
    return Promise.all(all);
  };
  return {
    env,
    admin,
    journal,
    publish,
    async close() {
      await Promise.all(procs.map((p) => p.stop()));
      procs = [];
      close();
      await nc.drain();
    },
  };
}

async function totalLag(journal: PartitionJournal): Promise<{ sum: number; max: number }> {
  // A consumer being rewound by a new owner is briefly absent: count it as unknown, not as zero lag.
  const lags = await Promise.all(Array.from({ length: P }, (_, p) => journal.lag(p).catch(() => undefined)));
  const per = lags.map((l) => (l === undefined ? Number.NaN : l.pending + l.ackPending));
  if (per.some(Number.isNaN)) return { sum: Number.NaN, max: Math.max(0, ...per.filter((x) => !Number.isNaN(x))) };
  return { sum: per.reduce((a, b) => a + b, 0), max: Math.max(...per) };
}

async function startNodes(s: Awaited<ReturnType<typeof scenario>>, nodes: string[]) {
  for (const n of nodes) procs.push(spawnRuntime(n, s.env));
  await waitConverged(s.admin, nodes, 120_000, `${nodes.length} nodes to converge`);
}

/** Streams at `rate` readings/s (over `devices` devices) until stopped. */
function stream(s: Awaited<ReturnType<typeof scenario>>, rate: number, devices = DEVICES) {
  let on = true;
  const done = (async () => {
    const t0 = Date.now();
    let sent = 0;
    while (on) {
      const due = Math.floor(((Date.now() - t0) / 1000) * rate) - sent;
      if (due > 0) {
        void s.publish(due, devices);
        sent += due;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return async () => {
    on = false;
    await done;
  };
}

try {
  // Baseline: one runtime without Consul (single-node mode owns every partition from the start).
  if (ONLY.has("throughput")) {
    const s = await scenario("tput0");
    // Single-node mode: `cluster.enabled: false` (SHOAL_CLUSTER=off for runtimes that predate the key).
    const proc = spawnRuntime("solo", { ...s.env, SHOAL__CLUSTER__ENABLED: "false", SHOAL_CLUSTER: "off" });
    procs.push(proc);
    await waitFor(async () => proc.out(), (o) => o.includes("runtime started"), 120_000, "the single-node runtime to start");
    const t0 = Date.now();
    await s.publish(READINGS);
    await waitFor(() => totalLag(s.journal), (l) => l.sum === 0, 300_000, "every reading acked");
    const secs = (Date.now() - t0) / 1000;
    table.push([`throughput, 1 node without Consul (${READINGS} readings)`, `${Math.round(READINGS / secs)} readings/s (${load()})`]);
    console.error(table.at(-1)!.join(": "));
    await s.close();
  }
  // Throughput with 1, 2, 3 nodes.
  for (const n of ONLY.has("throughput") ? [1, 2, 3] : []) {
    const s = await scenario(`tput${n}`);
    await startNodes(s, Array.from({ length: n }, (_, i) => `node-${i + 1}`));
    const t0 = Date.now();
    await s.publish(READINGS);
    await waitFor(() => totalLag(s.journal), (l) => l.sum === 0, 300_000, "every reading acked");
    const secs = (Date.now() - t0) / 1000;
    table.push([`throughput, ${n} node${n > 1 ? "s" : ""} (${READINGS} readings)`, `${Math.round(READINGS / secs)} readings/s (${load()})`]);
    console.error(table.at(-1)!.join(": "));
    await s.close();
  }

  // Rebalance lag: 2 nodes streaming, a third joins.
  if (ONLY.has("rebalance")) {
    const s = await scenario("rebal");
    await startNodes(s, ["node-1", "node-2"]);
    const stop = stream(s, RATE);
    let atRest = 0;
    for (let i = 0; i < 25; i++) {
      atRest = Math.max(atRest, (await totalLag(s.journal)).max);
      await new Promise((r) => setTimeout(r, 200));
    }
    let maxLag = 0;
    const t0 = Date.now();
    procs.push(spawnRuntime("node-3", s.env));
    let converged = false;
    const convergedP = waitConverged(s.admin, ["node-1", "node-2", "node-3"], 120_000, "node-3 join").then(() => (converged = true));
    while (!converged) {
      maxLag = Math.max(maxLag, (await totalLag(s.journal)).max);
      await new Promise((r) => setTimeout(r, 200));
    }
    await convergedP;
    const joinSecs = (Date.now() - t0) / 1000;
    await stop();
    table.push([`max per-partition lag at rest (2 nodes, ${RATE}/s)`, `${atRest} messages (${load()})`]);
    table.push([`max per-partition lag during rebalance (2 → 3 nodes, ${RATE}/s)`, `${maxLag} messages (${load()})`]);
    table.push(["time from spawning a 3rd node to converged", `${joinSecs.toFixed(1)} s (includes process start; ${load()})`]);
    console.error(table.slice(-3).map((r) => r.join(": ")).join("\n"));
    await s.close();
  }

  // Recovery of a SIGKILLed node's partitions.
  if (ONLY.has("recovery")) {
    const s = await scenario("kill");
    await startNodes(s, ["node-1", "node-2", "node-3"]);
    const stop = stream(s, RATE);
    await new Promise((r) => setTimeout(r, 3000));
    const victim = procs.find((p) => p.node === "node-2")!;
    const lost = (await s.admin.partitionMap()).filter((p) => p.owner === "node-2").map((p) => p.partition);
    const killedAt = await victim.kill();
    await waitConverged(s.admin, ["node-1", "node-3"], 120_000, "recovery");
    // The "acquired" event is written once the new owner rewound the consumer, just after the lock.
    const history = await waitFor(
      () => s.admin.history(),
      (h) => lost.every((p) => h.some((e) => e.partition === p && e.event === "acquired" && e.atMs >= killedAt)),
      60_000,
      "history of the re-acquisitions",
    );
    const resumedAt = Math.max(...lost.map((p) => Math.max(...history.filter((e) => e.partition === p && e.event === "acquired").map((e) => e.atMs))));
    const firstAt = Math.min(...lost.map((p) => Math.max(...history.filter((e) => e.partition === p && e.event === "acquired").map((e) => e.atMs))));
    await waitFor(
      async () => Promise.all(lost.map((p) => s.journal.lag(p).catch(() => undefined))),
      (ls) => ls.every((l) => l !== undefined && l.pending + l.ackPending < RATE / P + 500),
      120_000,
      "caught up",
    );
    const caughtUp = Date.now();
    await stop();
    table.push([`recovery: first of ${lost.length} partitions of a SIGKILLed node resumed (session TTL 10 s)`, `${((firstAt - killedAt) / 1000).toFixed(1)} s (${load()})`]);
    table.push([`recovery: all ${lost.length} resumed elsewhere`, `${((resumedAt - killedAt) / 1000).toFixed(1)} s`]);
    table.push(["recovery: ... and caught up (lag back to steady state)", `${((caughtUp - killedAt) / 1000).toFixed(1)} s`]);
    await s.close();
  }
  // Restart of a SIGKILLed single-node runtime with many devices in snapshots.
  if (ONLY.has("restart")) {
    const s = await scenario("restart");
    const devices = Number(values["restart-devices"]);
    const solo = { ...s.env, SHOAL__CLUSTER__ENABLED: "false", SHOAL_CLUSTER: "off" };
    // BENCH_RESTART_LOG=FILE: the restarted runtime's log, at debug level (each partition's phases: "partition taken").
    const logLevel = process.env.BENCH_RESTART_LOG ? "debug" : "info";
    const started = async (proc: RuntimeProc) => waitFor(async () => proc.out(), (o) => o.includes("runtime started"), 300_000, "the runtime to start");
    let proc = spawnRuntime("solo", solo, logLevel);
    procs.push(proc);
    await started(proc);
    await s.publish(devices, devices);
    await waitFor(() => totalLag(s.journal), (l) => l.sum === 0, 600_000, "every device's first reading acked");
    await proc.stop(); // graceful: every actor's snapshot and pending timers are written
    const tg = Date.now();
    proc = spawnRuntime("solo", solo, logLevel);
    procs.push(proc);
    await started(proc);
    const gracefulOwned = Date.now() - tg;
    const stop = stream(s, RATE, devices);
    await new Promise((r) => setTimeout(r, 5000));
    await proc.kill();
    const t0 = Date.now();
    proc = spawnRuntime("solo", solo, logLevel);
    procs.push(proc);
    await started(proc);
    const owned = Date.now() - t0;
    await waitFor(
      async () => Promise.all(Array.from({ length: P }, (_, p) => s.journal.lag(p).catch(() => undefined))),
      (ls) => ls.every((l) => l !== undefined && l.pending + l.ackPending < RATE / P + 500),
      300_000,
      "every partition caught up",
    );
    const caughtUp = Date.now() - t0;
    await stop();
    if (process.env.BENCH_RESTART_LOG) writeFileSync(process.env.BENCH_RESTART_LOG, proc.out());
    table.push([`restart after a graceful stop (${devices} devices in snapshots, idle journal): owns all ${P} partitions`, `${(gracefulOwned / 1000).toFixed(1)} s after its start (${load()})`]);
    table.push([`restart: a SIGKILLed runtime (${devices} devices in snapshots, ${RATE}/s) owns all ${P} partitions`, `${(owned / 1000).toFixed(1)} s after its start (${load()})`]);
    table.push(["restart: ... and has caught up on every partition", `${(caughtUp / 1000).toFixed(1)} s after its start`]);
    console.error(table.slice(-3).map((r) => r.join(": ")).join("\n"));
    await s.close();
  }
} finally {
  await Promise.all(procs.map((p) => p.stop()));
  await nats?.cleanup();
  await Promise.all([ch.cleanup(), consul.cleanup()]);
}

const w = Math.max(...table.map((r) => r[0].length));
console.log(`\nshoal cluster bench: ${P} partitions, ${DEVICES} devices, ${READINGS} readings per throughput run, 2 shared cores; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(", ")}\n`);
console.log(`${"measure".padEnd(w)}  value`);
for (const [k, v] of table) console.log(`${k.padEnd(w)}  ${v}`);
