/**
 * npm run bench:e2e [-- --devices 1000 --rates 2000,5000,10000,15000 --duration 15 --partitions 16]
 *
 * End-to-end throughput and latency on real services started by test/harness (Mosquitto,
 * nats-server with JetStream, ClickHouse), with the bridge and the runtime as separate
 * `shoal` processes (the microservices shape) and the device simulator in this process.
 * For each target rate: publish for --duration seconds, wait for every row, and report the
 * achieved rate, rows stored vs published (loss/duplicates), the drain time after the last
 * publish, and publish→row latency (p50/p99) measured by polling ClickHouse every 100 ms
 * (so latencies carry up to +100 ms of polling resolution). "sustained" means zero loss and the
 * backlog drained within 2 s of the end of publishing.
 */
import { parseArgs } from "node:util";
import { startClickHouse, startMosquitto, startNats } from "../harness/index.js";
import { simulate } from "../../src/simulator/simulator.js";
import { chQuery, exited, pipelineEnv, spawnRole, waitFor } from "../support/pipeline.js";
import { startRowLatencyPoller } from "./row-latency.js";

const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "1000" },
    rates: { type: "string", default: "2000,5000,10000,15000" },
    duration: { type: "string", default: "15" },
    partitions: { type: "string", default: "16" },
  },
});
const devices = Number(values.devices);
const rates = values.rates.split(",").map(Number);
const duration = Number(values.duration);

const [mqtt, ch] = await Promise.all([startMosquitto(), startClickHouse()]);
let nats = await startNats();
const rows: Array<Record<string, string | number>> = [];
try {
  for (const [i, rate] of rates.entries()) {
    if (i > 0) {
      await nats.cleanup();
      nats = await startNats();
    }
    const db = `bench_e2e_${i}`;
    const env = pipelineEnv(
      { nats: nats.url, mqtt: mqtt.url, clickhouse: ch.url },
      {
        SHOAL__CLICKHOUSE__DATABASE: db,
        SHOAL__NATS__STREAM: `BENCH_${i}`,
        SHOAL__NATS__PARTITIONS: values.partitions,
        SHOAL__MQTT__SHAREDGROUP: `bench${i}`,
        SHOAL__CLICKHOUSE__FLUSHINTERVAL: "250ms",
        SHOAL__NODEID: `bench-${i}`,
        SHOAL__LOG__LEVEL: "info",
      },
    );
    let out = "";
    const runtime = spawnRole("runtime", env, (s) => (out += s));
    await waitFor(async () => out, (o) => o.includes("runtime started"), 60_000, "runtime start");
    const bridge = spawnRole("bridge", env, (s) => (out += s));
    await waitFor(async () => out, (o) => o.includes("bridge started"), 60_000, "bridge start");
    await new Promise((r) => setTimeout(r, 500));

    const rowLatency = startRowLatencyPoller(ch.url, db);

    const sim = await simulate({ url: mqtt.url, devices, rate, durationSec: duration, connections: 4, maxInFlight: 1000, devicePrefix: `b${i}` });
    const endPublish = Date.now();
    const stored = await waitFor(
      async () => Number((await chQuery<{ n: string }>(ch.url, db, "SELECT count() AS n FROM readings"))[0]?.n ?? 0),
      (n) => n >= sim.acked,
      120_000,
      "all rows",
    ).catch(async () => Number((await chQuery<{ n: string }>(ch.url, db, "SELECT count() AS n FROM readings"))[0]?.n ?? 0));
    const drainMs = Date.now() - endPublish;
    await new Promise((r) => setTimeout(r, 300));
    await rowLatency.stop();
    const [u] = await chQuery<{ u: string; n: string }>(ch.url, db, "SELECT uniqExact(device_id, seq) AS u, count() AS n FROM readings");
    const pct = (p: number) => rowLatency.percentile(p);
    const achieved = sim.acked / (sim.elapsedMs / 1000);
    const lost = sim.acked - Number(u!.u);
    rows.push({
      "target/s": rate,
      "published/s": Math.round(achieved),
      published: sim.acked,
      stored: Number(u!.u),
      lost,
      "dup rows": Number(u!.n) - Number(u!.u),
      "drain ms": drainMs,
      "p50 ms": pct(50),
      "p99 ms": pct(99),
      sustained: lost === 0 && drainMs <= 2000 ? "yes" : "no",
    });
    void stored;
    bridge.kill("SIGTERM");
    runtime.kill("SIGTERM");
    await Promise.all([exited(bridge), exited(runtime)]);
  }
} finally {
  await Promise.all([nats.cleanup(), mqtt.cleanup(), ch.cleanup()]);
}
console.log(`\nbench:e2e — ${devices} devices, ${duration} s per rate, ${values.partitions} partitions, MQTT QoS 1 → bridge → JetStream → runtime → ClickHouse (all on this machine)\n`);
console.table(rows);
const best = rows.filter((r) => r.sustained === "yes").map((r) => Number(r["published/s"]));
console.log(`highest sustained rate with zero loss: ${best.length ? Math.max(...best) : "none"} readings/s`);
process.exit(0);
