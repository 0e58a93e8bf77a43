/**
 * npm run bench:query [-- --devices 10000 --readings-per-device 5000 --days 30 --calls 300 --keep]
 *                     [-- --views-cost 2000000]
 *
 * The read side on real services started by test/harness (ClickHouse 18.16, nats-server): prints
 * tables, never asserts; the targets are printed beside the measurements.
 *
 * 1. Load: a fresh database, migrated, gets `--devices` × `--readings-per-device` readings spread
 *    over `--days` days (10 000 × 5 000 = 50 M over 30 days: a reading every ~518 s per device;
 *    temp and hum, a few anomalies with their analyses rows), time-major in RowBinary inserts of
 *    `--batch` rows (test/bench/query/load.ts); the materialized views fill readings_1m,
 *    readings_1h and device_status during the inserts. Load time, rows/s, where the time went, and
 *    every table's size on disk (system.parts). `--keep` keeps the loaded data directory and reuses
 *    it next time for the same dataset (test/bench/query/keep.ts). `--views-cost N`: instead, the
 *    insert rate of N readings with none, all, or one of the views (scratch databases).
 * 2. Queries: the query role in-process (startQueryRole, NATS from the harness), called through a
 *    real @grpc/grpc-js client: per call a warm-up, `--calls` sequential calls and the same number
 *    split over `--callers` concurrent callers (distinct `shoal-caller`); p50/p95/p99/max ms and what
 *    the answers held (the resolution chosen). Then where each call's time goes (every statement
 *    the read model sent, timed through a recording proxy) and the read model's slow statements
 *    against variants (ClickHouse's own elapsed time and rows read; test/bench/query/sql-variants.ts).
 * 3. Vectors: see `npm run bench:vectors`.
 */
import { parseArgs } from "node:util";
import { connect } from "@nats-io/transport-node";
import { startClickHouse, startNats } from "../harness/index.js";
import { startQueryRole, type QueryRole } from "../../src/cli/roles/query-role.js";
import { pipelineConfig, quietLogger } from "../support/pipeline.js";
import { pidOfPort } from "./e2e/procstat.js";
import { adoptKept, keepData, keptDataset, KEEP_DIR, type KeptDataset } from "./query/keep.js";
import { load, tableSizes, viewsCost, waitForMerges } from "./query/load.js";
import { QueryClient, caseRow, runCase, type CaseResult } from "./query/rpc.js";
import { benchCases } from "./query/cases.js";
import { breakdownRows, SqlRecorder, type Recorded } from "./query/sql-probe.js";
import { variantRows } from "./query/sql-variants.js";
import { layerRows } from "./query/layers.js";

const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "10000" },
    "readings-per-device": { type: "string", default: "5000" },
    days: { type: "string", default: "30" },
    batch: { type: "string", default: "1000000" },
    seed: { type: "string", default: "1" },
    calls: { type: "string", default: "300" },
    warmup: { type: "string", default: "30" },
    callers: { type: "string", default: "4" },
    "breakdown-calls": { type: "string", default: "30" },
    "variant-runs": { type: "string", default: "20" },
    settle: { type: "string", default: "600" },
    "views-cost": { type: "string", default: "0" },
    keep: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`npm run bench:query -- [options]
  --devices N                devices (default 10000)
  --readings-per-device N    readings per device (default 5000: 50 M in all)
  --days D                   days the readings span, ending now (default 30)
  --batch N                  readings per insert (default 1000000)
  --calls N                  timed calls per query, sequential and again split over the callers (default 300)
  --warmup N                 calls before timing (default 30)
  --callers N                concurrent callers of the second run (default 4)
  --breakdown-calls N        calls per query through the recording proxy (0: skip; default 30)
  --variant-runs N           runs of each statement and variant (0: skip; default 20)
  --settle S                 longest wait for background merges after the load (default 600)
  --keep                     keep the loaded data in ${KEEP_DIR} and reuse it when the dataset matches
  --views-cost N             only measure the insert rate of N readings with none / all / each view`);
  process.exit(0);
}
const num = (k: keyof typeof values) => Number(values[k]);
const devices = num("devices");
const perDevice = num("readings-per-device");
const days = num("days");
const seed = num("seed");
const database = "bench_query";
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

const ch = await startClickHouse();
let chPid = pidOfPort(ch.port);
const endMs = Math.floor(Date.now() / 60_000) * 60_000;
console.log(`bench:query — ClickHouse ${(await (await fetch(`${ch.url}/?query=SELECT%20version()`)).text()).trim()} (harness, ${ch.dataDir}), every process on this machine (2 cores)`);

if (num("views-cost") > 0) {
  try {
    const rows = num("views-cost");
    const spec = { devices, perDevice, days, endMs, seed };
    console.log(`\nInsert cost of the materialized views: the first ${fmt(rows)} readings of the dataset (${fmt(devices)} devices, a reading every ${((days * 86_400) / perDevice).toFixed(0)} s each) pre-generated, in inserts of ${fmt(num("batch"))}, into scratch databases`);
    console.table(await viewsCost(ch.url, spec, rows, num("batch"), chPid));
  } finally {
    await ch.cleanup();
  }
  process.exit(0);
}

const nats = await startNats();
const nc = await connect({ servers: nats.url });
let role: QueryRole | undefined;
let probeRole: QueryRole | undefined;
let recorder: SqlRecorder | undefined;
let client: QueryClient | undefined;
let probeClient: QueryClient | undefined;
let dataset: KeptDataset | undefined;
try {
  // 1. Load.
  const want = { devices, perDevice, days, seed };
  const kept = values.keep ? keptDataset(want) : undefined;
  if (kept) {
    await adoptKept(ch);
    chPid = pidOfPort(ch.port);
    dataset = kept;
    console.log(`\n1. Load: reusing the data kept in ${KEEP_DIR} (${kept.loadLine})`);
  } else {
    console.log(`\n1. Load: ${fmt(devices)} devices × ${fmt(perDevice)} readings = ${fmt(devices * perDevice)} readings over ${days} days, inserts of ${fmt(num("batch"))} rows (RowBinary)`);
    const r = await load(ch.url, database, { devices, perDevice, days, endMs, seed }, num("batch"), chPid);
    const settledMs = await waitForMerges(ch.url, database, num("settle") * 1000);
    const loadLine = `${fmt(r.rows)} readings in ${r.seconds.toFixed(1)} s = ${fmt(r.rows / r.seconds)} rows/s`;
    console.table([
      {
        readings: fmt(r.rows),
        analyses: fmt(r.analyses),
        "load s": Number(r.seconds.toFixed(1)),
        "rows/s": fmt(r.rows / r.seconds),
        "generating s (this process)": Number((r.genMs / 1000).toFixed(1)),
        "waiting for ClickHouse s": Number((r.waitMs / 1000).toFixed(1)),
        "ClickHouse CPU s": Number(r.chCpuS.toFixed(1)),
        "node CPU s": Number(r.nodeCpuS.toFixed(1)),
        "merges after, s": Number((settledMs / 1000).toFixed(1)),
      },
    ]);
    dataset = { database, devices, perDevice, days, seed, startMs: r.startMs, endMs, stepMs: r.stepMs, analyses: r.analyses, loadLine };
  }
  console.log(`a reading every ${(dataset.stepMs / 1000).toFixed(1)} s per device, ${new Date(dataset.startMs).toISOString()} .. ${new Date(dataset.endMs).toISOString()}; table sizes (system.parts, active parts):`);
  console.table(await tableSizes(ch.url, database));

  // 2. Queries over gRPC.
  const env = { SHOAL__CLICKHOUSE__DATABASE: database, SHOAL__QUERY__PORT: "0", SHOAL__QUERY__TIMEOUT: "30s" };
  role = await startQueryRole(pipelineConfig({ nats: nats.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url }, env), quietLogger("query"), { nc });
  client = new QueryClient(role.address);
  const cases = benchCases(dataset, seed);
  const results: CaseResult[] = [];
  console.log(`\n2. QueryService over gRPC (query role in this process at ${role.address}): ${num("warmup")} warm-up calls, ${num("calls")} sequential, then ${num("calls")} over ${num("callers")} concurrent callers`);
  for (const c of cases) {
    for (const r of await runCase(client, c, num("calls"), num("warmup"), num("callers"), chPid)) {
      results.push(r);
      console.error(`  ${JSON.stringify(caseRow(r))}`);
    }
  }
  console.table(results.map(caseRow));

  if (num("breakdown-calls") > 0 || num("variant-runs") > 0) {
    recorder = new SqlRecorder(ch.url);
    const proxied = await recorder.start();
    probeRole = await startQueryRole(pipelineConfig({ nats: nats.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: proxied }, env), quietLogger("query-probe"), { nc });
    probeClient = new QueryClient(probeRole.address);
  }
  if (recorder && probeClient && num("breakdown-calls") > 0) {
    console.log(`\nWhere the time goes: ${num("breakdown-calls")} sequential calls each through a second query role whose ClickHouse is a recording proxy; the statements each call sent (by shape) with their median time as the role saw it`);
    const rows: Record<string, string | number>[] = [];
    for (const c of cases) {
      const perCall: Recorded[][] = [];
      const rpcMs: number[] = [];
      for (let i = 0; i < num("breakdown-calls"); i++) {
        const from = recorder.log.length;
        const t = process.hrtime.bigint();
        await probeClient.call(c.method, c.request(3_000_000 + i));
        rpcMs.push(Number(process.hrtime.bigint() - t) / 1e6);
        perCall.push(recorder.since(from));
      }
      rows.push(...breakdownRows(c.name, perCall, rpcMs));
    }
    console.table(rows);
  }

  if (recorder && probeClient && num("breakdown-calls") > 0) {
    console.log(`\nThe targeted calls layer by layer (${num("breakdown-calls")} requests each; every layer timed for the same requests):`);
    console.table(await layerRows(ch.url, database, cases, client, recorder, probeClient, num("breakdown-calls")));
  }

  if (recorder && probeClient && num("variant-runs") > 0) {
    console.log(`\nThe read model's statements against variants: each run ${num("variant-runs")} times directly (FORMAT JSON statistics: ClickHouse's elapsed time, rows and bytes read)`);
    console.table(await variantRows(ch.url, database, dataset, recorder, probeClient, num("variant-runs"), chPid));
  }

  // 3. Vectors.
  console.log("\n3. Vectors: write throughput and search p99 over 1 M vectors are measured by `npm run bench:vectors` (test/bench/vectors.bench.ts).");
  console.log("4. Ingest with vectors on vs off: not measured here.");
} finally {
  client?.close();
  probeClient?.close();
  await probeRole?.close();
  await role?.close();
  await recorder?.close();
  await nc.close();
  await nats.cleanup();
  if (values.keep && dataset) await keepData(ch, dataset).then(() => console.log(`kept the loaded data in ${KEEP_DIR} (reused by the next --keep run with the same dataset)`));
  await ch.cleanup();
}
