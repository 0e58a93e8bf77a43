// npm run bench:clickhouse — where ClickHouse's CPU per reading goes (prints tables; no assertions).
// 1. CPU per row by insert target: `readings`, `readings_feed` (engine Null feeding the rollup and
//    device_status views) and a plain MergeTree of the same columns, 7,000-row RowBinary inserts as
//    the sink sends them, each series followed by 8 s for its merges; the targets interleaved.
// 2. Merges at one reading per MQTT message: 750-row inserts of `readings` ten times a second
//    (7,500 readings/s) into the table part 1 filled (a table with history), rows inserted against
//    rows merged, every 5 s.
// A ClickHouse of its own (test/harness), nothing else running in it. Env: BENCH_ROUNDS (2),
// BENCH_MERGE_SECONDS (30). docs/adr/0009-batched-journal.md, "The bridge's encoding, and where
// ClickHouse's CPU goes".
import { createClickHouseClient, migrate } from "../../src/adapters/clickhouse/index.js";
import { insertEncoded } from "../../src/adapters/clickhouse/encoded-rows.js";
import { sleep } from "../../src/base/clock.js";
import { RowBinaryWriter } from "../../src/domain/row-binary.js";
import { READINGS_SCHEMA } from "../../src/domain/tables.js";
import { startClickHouse } from "../harness/index.js";
import { pidOfPort, procSample } from "./e2e/procstat.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const MERGE_SECONDS = Number(process.env.BENCH_MERGE_SECONDS ?? 30);
const NAMES = READINGS_SCHEMA.columns.map((c) => c.name);
const writer = new RowBinaryWriter(READINGS_SCHEMA);
let seq = 0;

/** `n` readings rows of 1,000 devices with three metrics, as RowBinary. */
function rows(n: number): readonly Uint8Array[] {
  const out = [];
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    seq++;
    out.push({ device_id: `dev-${seq % 1000}`, epoch: 1, seq, ts_ms: now - 1000 + (i % 1000), metric_names: ["temperature", "humidity", "pressure"], metric_values: [20 + (seq % 7), 40 + (seq % 11), 1013.25], metric_scores: [0.01, 0.02, 0.01], score: 0.05, log: "", stream_seq: seq });
  }
  return writer.encode(out).binary!.chunks;
}

async function main(): Promise<void> {
  const ch = await startClickHouse();
  try {
    const o = { url: ch.url, database: "bench_ch", username: "default", password: "" };
    await migrate(o);
    const client = createClickHouseClient(o);
    const cols = READINGS_SCHEMA.columns.map((c) => `${c.name} ${c.type}`).join(", ");
    await client.command({ query: `CREATE TABLE plain (${cols}) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(toDateTime(intDiv(ts_ms, 1000))) ORDER BY (device_id, ts_ms)` });
    const pid = pidOfPort(ch.port);
    if (pid === undefined) throw new Error("clickhouse-server's pid not found");
    const cpuMs = () => procSample(pid)!.cpuMs;
    const events = async () =>
      Object.fromEntries(
        ((await (await client.query({ query: "SELECT event, value FROM system.events WHERE event IN ('InsertedRows', 'MergedRows', 'MergesTimeMilliseconds')", format: "JSONEachRow" })).json()) as { event: string; value: string }[]).map((e) => [e.event, Number(e.value)]),
      ) as Record<string, number>;

    console.log("ClickHouse CPU per row by insert target (30 inserts of 7,000 rows, then 8 s)");
    const targets = ["readings", "readings_feed", "plain"];
    const byTarget = new Map<string, string[]>(targets.map((t) => [t, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const table of targets) {
        const before = cpuMs();
        for (let k = 0; k < 30; k++) await insertEncoded(client, table, "RowBinary", NAMES, rows(7000));
        await sleep(8000);
        byTarget.get(table)!.push(((1000 * (cpuMs() - before)) / (30 * 7000)).toFixed(2));
      }
    }
    console.table(targets.map((t) => ({ target: t === "readings_feed" ? "readings_feed (its three views)" : t, "µs CPU per row, each round": byTarget.get(t)!.join(" · ") })));

    console.log(`\nMerges at 7,500 readings/s in 750-row inserts of readings holding ${ROUNDS * 30 * 7000} rows (${MERGE_SECONDS} s)`);
    const table: Record<string, string | number>[] = [];
    let last = await events();
    let lastCpu = cpuMs();
    const t0 = Date.now();
    let report = t0 + 5000;
    while (Date.now() - t0 < MERGE_SECONDS * 1000) {
      const t = Date.now();
      await insertEncoded(client, "readings", "RowBinary", NAMES, rows(750));
      if (Date.now() >= report) {
        report += 5000;
        const e = await events();
        const c = cpuMs();
        table.push({ "s": Math.round((Date.now() - t0) / 1000), "rows inserted": e.InsertedRows! - last.InsertedRows!, "rows merged": e.MergedRows! - last.MergedRows!, "merge ms": e.MergesTimeMilliseconds! - last.MergesTimeMilliseconds!, "CPU ms": c - lastCpu });
        last = e;
        lastCpu = c;
      }
      await sleep(Math.max(0, 100 - (Date.now() - t)));
    }
    console.table(table);
    await client.close();
  } finally {
    await ch.stop();
    await ch.cleanup();
  }
}

await main();
process.exit(0);
