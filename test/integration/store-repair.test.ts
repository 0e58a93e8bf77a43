import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { ClickHouseSink, createClickHouseClient, migrate, StoreRepair } from "../../src/adapters/clickhouse/index.js";
import { createJetStreamRowLog } from "../../src/adapters/nats/row-log.js";
import { systemClock } from "../../src/base/clock.js";
import { DEVICE_EVENTS_TABLE, READINGS_SCHEMA, READINGS_TABLE } from "../../src/domain/tables.js";
import { RowBinaryWriter } from "../../src/domain/row-binary.js";
import { rowBatch, rowBatchOf } from "../../src/domain/row-batch.js";
import type { Incident } from "../../src/ports/incidents.js";
import type { Row } from "../../src/ports/row-sink.js";
import { startClickHouse, startNats, type ServiceHandle } from "../harness/index.js";
import { chQuery, exited, pipelineEnv, quietLogger, spawnRole } from "../support/pipeline.js";

/**
 * The row log and the repair on a real nats-server and ClickHouse: what ClickHouse accepted is
 * logged; rows ClickHouse then loses come back identical from the log, and the loss is reported.
 */
let nats: ServiceHandle;
let ch: ServiceHandle;
let nc: NatsConnection;
const database = "repair_test";
const opts = () => ({ url: ch.url, database, username: "default", password: "" });

beforeAll(async () => {
  [nats, ch] = await Promise.all([startNats(), startClickHouse()]);
  nc = await connect({ servers: nats.url });
  await migrate(opts());
}, 90_000);

afterAll(async () => {
  await nc?.close();
  await Promise.all([nats?.cleanup(), ch?.cleanup()]);
});

function reading(device: string, seq: number): Row {
  return { device_id: device, epoch: 3, seq, ts_ms: 1_700_000_000_000 + seq * 1000, metric_names: ["temp"], metric_values: [20 + seq / 7], metric_scores: [seq / 1000], score: seq / 1000, log: "", stream_seq: 100 + seq };
}

const ALL = "SELECT device_id, toString(epoch) AS e, toString(seq) AS s, ts_ms, metric_values, metric_scores, score, toString(stream_seq) AS ss FROM readings FINAL ORDER BY device_id, seq";

describe("row log and repair (real NATS and ClickHouse)", () => {
  it("logs what ClickHouse accepted and inserts it again, identical, after ClickHouse lost it", async () => {
    const rowLog = await createJetStreamRowLog(nc, { writer: "repair-test", keepMs: 3_600_000, replicas: 1 });
    // A small entry limit: an insert's rows are split between writes into several entries.
    const smallLog = { ...rowLog, maxEntryBytes: 12_000, append: rowLog.append, read: rowLog.read };
    const sink = ClickHouseSink.create({ ...opts(), flushRows: 100_000, flushIntervalMs: 5 }, systemClock, smallLog);
    const t0 = Date.now();
    const writes = [];
    for (let w = 0; w < 10; w++) {
      const rows = Array.from({ length: 50 }, (_, i) => reading(`d${w % 3}`, w * 50 + i + 1));
      const readings = rowBatch(new RowBinaryWriter(READINGS_SCHEMA).encode(rows).binary, []);
      const events = rowBatchOf([{ device_id: `d${w % 3}`, kind: "online", epoch: 3, at_ms: 1_700_000_000_000 + w, last_seq: w * 50, detail: "" }]);
      writes.push(sink.write(new Map([[READINGS_TABLE, readings], [DEVICE_EVENTS_TABLE, events]])));
    }
    await Promise.all(writes);
    await sink.close();
    const before = await chQuery<Record<string, unknown>>(ch.url, database, ALL);
    expect(before).toHaveLength(500);

    // Every row accepted is in the log: as many rows per table as ClickHouse took.
    let logged = { readings: 0, device_events: 0 };
    const formats = new Set<string>();
    let entries = 0;
    for await (const e of rowLog.read(t0 - 1000, Date.now() + 1000)) {
      logged = { ...logged, [e.table]: logged[e.table as keyof typeof logged] + e.rows };
      formats.add(`${e.table} ${e.format}`);
      entries++;
    }
    expect(logged).toEqual({ readings: 500, device_events: 10 });
    expect([...formats].sort()).toEqual(["device_events JSONEachRow", "readings RowBinary"]);
    expect(entries).toBeGreaterThan(2);

    // ClickHouse loses every part (as a power loss drops unsynced parts).
    for (const t of ["readings", "device_events"]) {
      const parts = await chQuery<{ p: string }>(ch.url, database, `SELECT DISTINCT partition AS p FROM system.parts WHERE database = '${database}' AND table = '${t}' AND active`);
      for (const { p } of parts) await fetch(`${ch.url}/?database=${database}`, { method: "POST", body: `ALTER TABLE ${t} DROP PARTITION ${p}` });
    }
    expect(await chQuery(ch.url, database, ALL)).toEqual([]);

    const incidents: Incident[] = [];
    const repair = new StoreRepair(
      createClickHouseClient(opts()),
      rowLog,
      { clock: systemClock, log: quietLogger("repair"), incidents: { report: (i) => incidents.push(i), degradedReason: () => "" }, lastAcceptedInsertAt: () => 0 },
      { node: "t", lookbackMs: 60_000, checkEveryMs: 1000 },
    );
    const report = await repair.repair(t0 - 1000, Date.now() + 1000, "test");
    await repair.close();
    expect(await chQuery(ch.url, database, ALL)).toEqual(before);
    expect(report.missing).toBe(510);
    expect(report.reinserted).toBe(510);
    expect(report.tables.map((t) => [t.table, t.missing]).sort()).toEqual([["device_events", 10], ["readings", 500]]);
    expect(incidents.map((i) => i.kind)).toEqual(["store.rows-missing"]);

    // A second repair of the same window changes nothing (every table replaces identical rows).
    const again = new StoreRepair(createClickHouseClient(opts()), rowLog, { clock: systemClock, log: quietLogger("repair"), incidents: { report: (i) => incidents.push(i), degradedReason: () => "" }, lastAcceptedInsertAt: () => 0 }, { node: "t", lookbackMs: 60_000, checkEveryMs: 1000 });
    await again.repair(t0 - 1000, Date.now() + 1000, "test again");
    await again.close();
    await fetch(`${ch.url}/?database=${database}`, { method: "POST", body: "OPTIMIZE TABLE device_events FINAL" });
    expect(await chQuery(ch.url, database, ALL)).toEqual(before);
    expect(await chQuery(ch.url, database, "SELECT toString(count()) AS n FROM device_events")).toEqual([{ n: "10" }]);
    rowLog.close();
  }, 60_000);

  it("`shoal repair` (a process) says nothing was missing, then puts back what ClickHouse lost and says how much", async () => {
    const env = pipelineEnv({ nats: nats.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url }, { SHOAL__CLICKHOUSE__DATABASE: database, SHOAL__NODEID: "repair-test" });
    const repairCli = async () => {
      let out = "";
      const code = await exited(spawnRole("repair", env, (s) => (out += s), ["--since", "5m"]));
      return { code, out };
    };
    const clean = await repairCli();
    expect(clean.out).toContain("Nothing was missing.");
    expect(clean.code).toBe(0);
    await fetch(`${ch.url}/?database=${database}`, { method: "POST", body: "ALTER TABLE readings DROP PARTITION 202311" });
    expect(await chQuery(ch.url, database, "SELECT toString(count()) AS n FROM readings")).toEqual([{ n: "0" }]);
    const lost = await repairCli();
    expect(lost.out).toMatch(/\| readings \| \d+ \| 0 \| \d+ \|/);
    expect(lost.out).toContain("rows were missing and are back.");
    expect(lost.code).toBe(3);
    expect(await chQuery(ch.url, database, "SELECT toString(uniqExact(device_id, epoch, seq)) AS n FROM readings")).toEqual([{ n: "500" }]);
  }, 60_000);
});
