/**
 * npm run bench:e2e [-- --rates 5000,10000,20000 --shapes up,split --duration 20 --batch 1 --devices 1000 --nats-nodes 1|3]
 *                  [-- --overload 30000 --duration 60]   [-- --ch-outage 10000 --duration 120]
 *
 * The whole path MQTT → bridge → JetStream → device actors → ClickHouse on real services started by
 * test/harness (Mosquitto, nats-server with JetStream, ClickHouse), driven by a load generator in its
 * own process (test/bench/e2e/loadgen.ts: MQTT 5 QoS 1, counting PUBACKs) against `shoal up` (one
 * process) and Shoal as separate bridge + runtime processes. Per run: a fresh nats-server and
 * database, a 3 s warm-up, then `--duration` seconds at the offered rate; every acknowledged reading
 * is checked in ClickHouse (distinct (device, epoch, seq)), latency is publish → row visible (p50/p99
 * from the row count, which follows the mean; "reading p50/p99" from every reading of every 50th
 * device, each timed from its publish to the first poll that returned its row), CPU is per
 * acknowledged reading for Shoal's processes and for every process (broker, NATS, ClickHouse and
 * load generator included). After each run, its accounting: published (acknowledged) = stored +
 * dead-lettered (bridge rejections + dead_letters rows) + duplicates counted by the device actors.
 *
 * Peers side by side (optional, never needed by the project): set SHOAL_PEER_HARNESS to a writable
 * copy of the side-by-side harness (its bench-side-by-side.sh, with `npm ci` done there) and add
 * `--peers b-raw,a`: each peer runs at each rate right after Shoal's shapes, on the same services.
 *
 * `--shapes mqtt-only` (beside up/split in a sweep): the load generator, Mosquitto and a subscriber
 * that acknowledges and counts (test/bench/e2e/mqtt-only.ts), with nothing behind it: what the MQTT
 * leg alone costs on this machine, so the ceiling of every pipeline here at one reading per message.
 *
 * --overload R: one run at R readings/s (use 2× the highest sustained rate) printing the rows of
 * every second, each role's event-loop delay per second of the run (p99 of the worst and the median second, longest),
 * the MQTT disconnects, and RSS and CPU (% of a core) of every process per second.
 * --ch-outage R: ClickHouse is stopped 20 s into the run for `--outage` s (60): RSS of every role
 * per second, with the main thread's V8 heap and external memory, loss and the time to catch up
 * after ClickHouse is back (a longer outage shows whether memory grows with it or levels off).
 *
 * Comparing settings: `--env "SHOAL__CLICKHOUSE__FLUSHINTERVAL=100ms|200ms"` makes each Shoal run
 * once per alternative, back to back, each its own row (named after the setting); `--rounds N`
 * repeats each rate's runs N times, so A and B alternate on a machine whose speed drifts.
 *
 * --nats-nodes 3: the journal on a three-node JetStream cluster (test/harness startNatsCluster) with
 * `nats.replicas: 3` (every stream and the snapshot bucket on all three nodes) instead of one
 * nats-server; the CPU columns then count all three nats-server processes.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import mqtt from "mqtt";
import { startClickHouse, startMosquitto, startNats, startNatsCluster, type NatsClusterHandle, type ServiceHandle } from "../harness/index.js";
import { pidOfPort } from "./e2e/procstat.js";
import { accountingLine, cpuPerReading, measure, type RunResult } from "./e2e/run.js";
import { mqttOnlyRun } from "./e2e/mqtt-only.js";
import { lagSummary, sampleRoles, type LagSummary } from "./e2e/role-sampling.js";
import { benchOptions, runName, type Variant } from "./e2e/options.js";
import { BENCH_BRIDGE_CLIENT_IDS, incidentCounts, shoalCounters, stageBuckets, stageQuantiles, startShoal, workUnitsLine, type ShoalShape, type StageBuckets } from "./e2e/shoal.js";

const { duration, batch, devices, outageS, natsNodes, shapes, extraEnv, variants, rounds, peers, peerDir, rates, overload, chOutage } = benchOptions();

const [mq, ch] = await Promise.all([startMosquitto(), startClickHouse()]);
let nats: ServiceHandle | undefined;
let natsCluster: NatsClusterHandle | undefined;
let runNo = 0;

/** A fresh journal for a run: one nats-server, or a three-node cluster at replicas 3. Its env for Shoal. */
async function freshNats(): Promise<Record<string, string>> {
  await nats?.cleanup();
  await natsCluster?.cleanup();
  nats = undefined;
  natsCluster = undefined;
  if (natsNodes === 1) {
    nats = await startNats();
    return { SHOAL__NATS__URL: nats.url };
  }
  natsCluster = await startNatsCluster({ nodes: natsNodes });
  return { SHOAL__NATS__URL: natsCluster.url, SHOAL__NATS__REPLICAS: String(natsNodes) };
}
const rows: Record<string, string | number>[] = [];
/** Per run: published = stored + dead-lettered + counted duplicates. */
const accountings: Record<string, string | number>[] = [];

async function clearBridgeSessions(): Promise<void> {
  for (const id of BENCH_BRIDGE_CLIENT_IDS) {
    const c = await mqtt.connectAsync(mq.url, { clientId: id, protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 0 } }).catch(() => undefined);
    await c?.endAsync();
  }
}

function servicePids(): Map<string, number> {
  const m = new Map<string, number>();
  const natsServers = nats !== undefined ? [["nats", nats] as const] : (natsCluster?.nodes ?? []).map((n) => [`nats-${n.index + 1}`, n] as const);
  for (const [name, s] of [["mosquitto", mq], ...natsServers, ["clickhouse", ch]] as const) {
    const pid = pidOfPort(s.port);
    if (pid !== undefined) m.set(name, pid);
  }
  return m;
}

async function shoalRun(shape: "up" | "split", rate: number, mode: "sweep" | "overload" | "ch-outage", variant: Variant): Promise<{ r: RunResult; shoal: ShoalShape; lag: Map<string, LagSummary | undefined> }> {
  const natsEnv = await freshNats();
  await clearBridgeSessions();
  const n = ++runNo;
  const db = `bench_e2e_${n}`;
  const shoal = await startShoal(shape, {
    SHOAL_ENV: "test",
    ...natsEnv,
    SHOAL__MQTT__URL: mq.url,
    SHOAL__CLICKHOUSE__URL: ch.url,
    SHOAL__CLICKHOUSE__DATABASE: db,
    ...extraEnv,
    ...(variant === undefined ? {} : { [variant.key]: variant.value }),
  });
  const name = runName(shape, variant);
  try {
    const common = { mqttUrl: mq.url, chUrl: ch.url, db, devices, batch };
    await measure({ ...common, rate: Math.min(rate, 3000), seconds: 3, prefix: `w${n}`, procs: new Map(), drainMaxMs: 60_000 });
    const stagesBefore = new Map<string, StageBuckets>();
    for (const [role, port] of shoal.statusPorts) stagesBefore.set(role, await stageBuckets(port));
    const procs = new Map([...shoal.pids, ...servicePids()]);
    const at: [number, () => Promise<void>][] = mode === "ch-outage" ? [[20, () => ch.stop()], [20 + outageS, () => ch.restart()]] : [];
    const counters = () => shoalCounters(shoal.statusPorts.values());
    // Each role's main thread per second: event-loop delay, and during an outage the V8 heap and
    // external memory (RSS also counts the worker threads' heaps), to tell a heap that grows with
    // the outage from one that levels off.
    const sampled = sampleRoles(shoal.statusPorts);
    const unitsBefore = await counters();
    const unitsFrom = Date.now();
    const r = await measure({ ...common, rate, seconds: duration, prefix: `m${n}`, procs, at, drainMaxMs: mode === "ch-outage" ? 300_000 : 120_000, counters });
    sampled.stop();
    for (const [role, series] of mode === "ch-outage" ? sampled.series : []) {
      console.log(`main-thread V8 heap used of ${role} per second (MB): ${series.map((x) => x.heap).join(" ")}`);
      console.log(`external + array buffers of ${role}'s main thread per second (MB): ${series.map((x) => x.external).join(" ")}`);
    }
    console.log(`${name} at ${rate}/s: ${accountingLine(r.accounting)}`);
    const a = r.accounting;
    accountings.push({
      run: `${name} ${rate}/s`,
      "published (acked)": a.published,
      "stored (distinct device, epoch, seq)": a.stored,
      "dead-lettered (bridge + dead_letters)": `${a.deadLettered} (${a.bridgeRejected} + ${a.runtimeDeadLetters})`,
      duplicates: `${a.duplicates} (${a.duplicatesFrom})`,
      holds: a.holds ? "yes" : `no (${a.published - a.stored - a.deadLettered - a.duplicates})`,
    });
    const lag = new Map([...sampled.series].map(([role, series]) => [role, lagSummary(series)] as const));
    for (const [role, port] of shoal.statusPorts) {
      const inc = [...(await incidentCounts(port))].map(([k, n]) => `${k} ${n}`);
      console.error(`  incidents reported by ${role}: ${inc.length === 0 ? "none" : inc.join(", ")}`);
    }
    // Their log lines (error level, one per incident), the first few of the run.
    for (const line of shoal.log().split("\n").filter((l) => l.includes('"incident":')).slice(0, 5)) console.error(`  ${line.slice(0, 600)}`);
    // Where a reading waited (ADR 0009): each stage's p50/p99 over the measured run.
    const waits: string[] = [];
    for (const [role, port] of shoal.statusPorts) {
      for (const [stage, q] of stageQuantiles(stagesBefore.get(role)!, await stageBuckets(port))) waits.push(`${stage} ${q.p50}/${q.p99}`);
    }
    // SHOAL_BENCH_LOG=<dir>: each run's Shoal log there (<shape>-<rate>-<run number>.log), to read after the run.
    const logDir = process.env["SHOAL_BENCH_LOG"];
    if (logDir) writeFileSync(`${logDir}/${shape}-${rate}-${n}.log`, shoal.log());
    console.error(`  each reading of the probe devices (every 50th; ${r.probed} of ${r.acked} readings), publish → row visible: p50 ${r.readingP50} ms, p99 ${r.readingP99} ms, longest ${r.readingMax} ms`);
    const unitsAfter = await counters();
    console.error(`  units of work, publishing and drain: ${workUnitsLine(unitsBefore, unitsAfter, (Date.now() - unitsFrom) / 1000)}`);
    if (waits.length > 0) console.error(`  where readings waited (p50/p99 ms, bucket bounds; journal: since accepted by the bridge, insert: a ClickHouse insert's own time, others: since stored in JetStream): ${waits.join(", ")}`);
    return { r, shoal, lag };
  } finally {
    await shoal.stop();
  }
}

function shoalRow(shape: string, rate: number, r: RunResult, variant: Variant): Record<string, string | number> {
  const roles = shape === "up" ? ["up"] : ["bridge", "runtime"];
  const cpu = cpuPerReading(r, roles);
  return {
    pipeline: runName(shape, variant),
    "offered/s": rate,
    "published/s": Math.round(r.publishedPerSec),
    "rows/s": Math.round(r.rowsPerSec),
    acked: r.acked,
    lost: r.lost,
    dup: r.duplicates,
    "p50 ms": Math.round(r.p50),
    "p99 ms": Math.round(r.p99),
    "reading p50/p99 ms": `${r.readingP50}/${r.readingP99}`,
    "drain ms": r.drainMs,
    "µs/reading shoal": Math.round(cpu.shoal),
    "µs/reading all": Math.round(cpu.all),
    sustained: r.sustained ? "yes" : "no",
    "published = stored + dl + dup": r.accounting.holds ? "yes" : "no",
  };
}

async function mqttOnlyRow(rate: number): Promise<Record<string, string | number>> {
  const r = await mqttOnlyRun({ mqttUrl: mq.url, mosquittoPid: pidOfPort(mq.port), rate, seconds: duration, devices, batch, prefix: `q${++runNo}` });
  console.error(`  mqtt only at ${rate}/s — CPU µs per reading by process: ${[...r.cpuUs].map(([n, us]) => `${n} ${us.toFixed(1)}`).join(", ")}`);
  return {
    pipeline: "mqtt only (no pipeline)",
    "offered/s": rate,
    "published/s": Math.round(r.publishedPerSec),
    "rows/s": `${Math.round(r.receivedPerSec)} received`,
    acked: r.acked,
    lost: r.missing,
    dup: "-",
    "p50 ms": "-",
    "p99 ms": "-",
    "reading p50/p99 ms": "-",
    "drain ms": "-",
    "µs/reading shoal": "-",
    "µs/reading all": Math.round([...r.cpuUs.values()].reduce((a, b) => a + b, 0)),
    sustained: r.missing === 0 && r.receivedPerSec >= 0.97 * rate ? "yes" : "no",
    "published = stored + dl + dup": "-",
  };
}

function peerRow(peer: string, rate: number): Record<string, string | number> {
  const out = `/tmp/shoal-peer-${process.pid}.jsonl`;
  const label = `peer-${peer}-${rate}-${Date.now()}`;
  const natsMon = new URL((nats as unknown as { monitorUrl?: string }).monitorUrl ?? "http://127.0.0.1:1").port;
  execFileSync("bash", [`${peerDir}/bench-side-by-side.sh`, peer, String(rate), label], {
    cwd: peerDir,
    stdio: "inherit",
    env: { ...process.env, MQTT_PORT: String(mq.port), NATS_PORT: String(nats!.port), NATS_MON_PORT: natsMon, CH_PORT: String(ch.port), CONSUL_PORT: "1", T: String(duration), D: String(devices), OUT: out },
  });
  const res = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>).filter((x) => x["label"] === label).pop()!;
  rmSync(out, { force: true });
  const lat = res["latVisibleMs"] as { p50: number; p99: number };
  const cpu = res["cpuPublishWindow"] as Record<string, { cpuPct: number }>;
  const acked = Number(res["acked"]);
  const cpuUs = (names: string[]) => Math.round((names.reduce((a, k) => a + (cpu[k]?.cpuPct ?? 0), 0) / 100) * duration * 1e6 / Math.max(1, acked));
  return {
    pipeline: `peer ${peer}`,
    "offered/s": rate,
    "published/s": Math.round(Number(res["pubRate"])),
    "rows/s": Math.round(Number(res["ingestRate"])),
    acked,
    lost: acked - Number(res["uniq"]),
    dup: Number(res["dups"] ?? 0),
    "p50 ms": lat.p50,
    "p99 ms": lat.p99,
    "reading p50/p99 ms": "-",
    "drain ms": Number(res["drainLagMs"]),
    "µs/reading shoal": cpuUs(["pipeline"]),
    "µs/reading all": cpuUs(Object.keys(cpu)),
    sustained: res["sustained"] ? "yes" : "no",
    "published = stored + dl + dup": "-",
  };
}

/** What an overload or outage run prints beyond its row: rows per second, event-loop delay, disconnects, RSS and CPU. */
function reportLongRun(mode: "overload" | "ch-outage", name: string, rate: number, r: RunResult, shoal: ShoalShape, lag: Map<string, LagSummary | undefined>): void {
  console.log(`\n${mode} — ${name} at ${rate} readings/s for ${duration} s (${batch} reading(s) per message):`);
  // Polled, and by ClickHouse's insert time (a poll delayed on a busy machine moves rows between seconds).
  for (const [what, timeline] of [["rows visible per second", r.rowsTimeline], ["rows inserted per second (ClickHouse's ingested_at)", r.insertedTimeline]] as const) {
    const during = timeline.slice(1, duration);
    console.log(`${what}: ${timeline.join(" ")}`);
    console.log(`  lowest second while publishing (after the first): ${Math.min(...during)} rows; mean ${Math.round(during.reduce((a, b) => a + b, 0) / Math.max(1, during.length))}`);
  }
  for (const [role, l] of lag) console.log(`event-loop delay of ${role}'s main thread, per second of the run: p99 ${l?.p99.toFixed(1)} ms in the worst second (${l?.medianP99.toFixed(1)} ms in the median one), longest ${l?.max.toFixed(1)} ms`);
  const reconnects = (shoal.log().match(/"mqtt connected"/g)?.length ?? 0) - 4;
  console.log(`MQTT disconnects: load generator ${r.loadgenDisconnects}, Shoal bridge reconnects ${reconnects}`);
  for (const n of r.watch.names) console.log(`RSS of ${n} per second (MB): ${r.watch.rssBySecond.get(n)?.join(" ")}`);
  // Where the machine's two cores went in each second (a slow second of rows is often a busy one elsewhere).
  for (const n of r.watch.names) console.log(`CPU of ${n} per second (% of a core): ${r.watch.cpuBySecond.get(n)?.join(" ")}`);
  if (mode === "ch-outage") console.log(`caught up ${r.drainMs} ms after publishing ended (ClickHouse was back ${20 + outageS} s into the run; publishing ran ${duration} s)`);
}

try {
  if (overload !== undefined || chOutage !== undefined) {
    const mode = overload !== undefined ? "overload" : "ch-outage";
    const rate = overload ?? chOutage!;
    for (const shape of shapes) {
      if (shape === "mqtt-only") throw new Error("--shapes mqtt-only is for sweeps (--rates), not --overload or --ch-outage");
      for (const variant of variants) {
        const { r, shoal, lag } = await shoalRun(shape, rate, mode, variant);
        rows.push(shoalRow(shape, rate, r, variant));
        reportLongRun(mode, runName(shape, variant), rate, r, shoal, lag);
      }
    }
  } else {
    for (const rate of rates) {
      // Each round runs every shape (and alternative) and peer once: A and B interleaved at each rate.
      for (let round = 0; round < rounds; round++) {
        for (const shape of shapes) {
          if (shape === "mqtt-only") {
            rows.push(await mqttOnlyRow(rate));
            continue;
          }
          for (const variant of variants) {
            const { r, lag } = await shoalRun(shape, rate, "sweep", variant);
            rows.push(shoalRow(shape, rate, r, variant));
            console.error(JSON.stringify(rows.at(-1)));
            for (const [role, l] of lag) if (l !== undefined) console.error(`  event-loop delay of ${role}'s main thread: p99 ${l.p99.toFixed(1)} ms in the worst second (${l.medianP99.toFixed(1)} ms in the median one), longest ${l.max.toFixed(1)} ms`);
            console.error(`  CPU µs per reading by process: ${r.watch.names.map((n) => `${n} ${Math.round((r.watch.cpuMs(n) * 1000) / Math.max(1, r.acked))}`).join(", ")}`);
          }
        }
        for (const peer of peers) {
          await nats?.cleanup();
          nats = await startNats();
          rows.push(peerRow(peer, rate));
          console.error(JSON.stringify(rows.at(-1)));
        }
      }
    }
  }
} finally {
  await nats?.cleanup();
  await natsCluster?.cleanup();
  await Promise.all([mq.cleanup(), ch.cleanup()]);
}

const journalShape = natsNodes === 1 ? "one nats-server" : `${natsNodes} nats-servers clustered, replicas ${natsNodes}`;
console.log(`\nbench:e2e — ${devices} devices, ${batch} reading(s) per MQTT message, ${duration} s per run, journal on ${journalShape}, every process on this machine (2 cores)`);
console.table(rows);
if (accountings.length > 0) {
  console.log("accounting per run: published = stored + dead-lettered + counted duplicates");
  console.table(accountings);
}
for (const p of new Set(rows.map((r) => String(r["pipeline"])))) {
  const ok = rows.filter((r) => r["pipeline"] === p && r["sustained"] === "yes").map((r) => Number(r["offered/s"]));
  console.log(`${p}: highest sustained rate with zero loss ${ok.length > 0 ? Math.max(...ok) : "none"} readings/s`);
}
