import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { ClickHouseClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClickHouse, startConsul, startNats, type ServiceHandle } from "../harness/index.js";
import { createClickHouseClient, migrate } from "../../src/adapters/clickhouse/index.js";
import { createJetStreamRowLog } from "../../src/adapters/nats/row-log.js";
import { EmbeddedVectorStore } from "../../src/adapters/vectors/index.js";
import { systemClock } from "../../src/base/clock.js";
import { startReportsRole, type ReportsRole } from "../../src/cli/roles/reports-role.js";
import { startGatewayRole, type GatewayRole } from "../../src/cli/gateway.command.js";
import { run as reportsCommand } from "../../src/cli/reports.command.js";
import { textVectorId } from "../../src/domain/anomaly-window.js";
import { createGateway, gatewayConfigSchema } from "../../src/gateway/index.js";
import type { Clock } from "../../src/ports/clock.js";
import type { SummarizeRequest } from "../../src/ports/gateway.js";
import type { Row } from "../../src/ports/row-sink.js";
import { fmt, type ReportsOptions } from "../../src/reports/index.js";
import { VectorIndexer } from "../../src/vectors/indexer.js";
import { chQuery, pipelineConfig, quietLogger, waitFor } from "../support/pipeline.js";
import { insertReadings } from "../support/readings.js";

/**
 * Scheduled reports against a real Consul (leader election), ClickHouse (rollups read with -Merge,
 * reports stored) and NATS (the row log the vector indexer reads), with the real in-process model
 * gateway (local models): after 3 hours of downtime exactly the 3 missing periods are generated,
 * each once, a stand-by takes over without generating anything twice, `shoal reports run` backfills
 * idempotently, and the reports reach the row log and the vector store.
 */
const H = 3_600_000;
const h = (n: number) => Date.UTC(2024, 4, 1, n);
const iso = (n: number) => new Date(h(n)).toISOString();
const DB = "reports_it";
const DEVICES = [
  { id: "pump-1", temp: 20 },
  { id: "pump-2", temp: 30 },
  { id: "fan-1", temp: 40 },
];

describe("scheduled reports (Consul + ClickHouse + NATS)", () => {
  let consul: ServiceHandle;
  let ch: ServiceHandle;
  let nats: ServiceHandle;
  let nc: NatsConnection;
  let client: ClickHouseClient;
  let gatewayRole: GatewayRole;
  const t0 = Date.now();
  // The reports' time: 2024-05-01T10:30Z when the suite starts, moving on with the wall clock.
  const clock: Clock = { ...systemClock, now: () => h(10) + 30 * 60_000 + (Date.now() - t0) };
  const gateway = createGateway({ config: gatewayConfigSchema.parse({}) });
  const summarized: string[] = [];
  const counting = { summarize: (req: SummarizeRequest, o?: Parameters<typeof gateway.summarize>[1]) => (summarized.push(req.subjectId ?? ""), gateway.summarize(req, o)) };
  const chOpts = () => ({ url: ch.url, database: DB, username: "default", password: "" });
  const options: ReportsOptions = {
    enabled: true,
    leaderKey: "shoal/reports-it/leader",
    sessionTtlMs: 10_000,
    catchUpMax: 48,
    schedules: [
      { name: "fleet-hourly", everyMs: H, delayMs: 120_000, scope: { kind: "fleet" }, maxItems: 40 },
      { name: "pumps-hourly", everyMs: H, delayMs: 120_000, scope: { kind: "group", group: "pumps", match: "pump-*" }, maxItems: 40 },
    ],
  };
  const roles: ReportsRole[] = [];
  const startRole = async (node: string) => {
    const role = await startReportsRole(options, quietLogger(`reports-${node}`), {
      gateway: counting,
      clickhouse: { ...chOpts(), flushIntervalMs: 20 },
      nc,
      rowLog: { writer: `reports-${node}`, keepMs: 3_600_000, replicas: 1 },
      consul: { url: consul.url },
      nodeId: node,
      clock,
    });
    roles.push(role);
    return role;
  };
  const counts = async () =>
    (await chQuery<{ report_id: string; n: string; raw: string }>(ch.url, DB, "SELECT report_id, count() AS n FROM reports FINAL GROUP BY report_id ORDER BY report_id")).map((r) => `${r.report_id} ×${r.n}`);
  const rawRows = async () => Number((await chQuery<{ n: string }>(ch.url, DB, "SELECT count() AS n FROM reports"))[0]!.n);
  const body = async (id: string) => (await chQuery<{ body: string }>(ch.url, DB, `SELECT body FROM reports FINAL WHERE report_id = '${id}'`))[0]?.body ?? "";

  beforeAll(async () => {
    [consul, ch, nats] = await Promise.all([startConsul(), startClickHouse(), startNats()]);
    nc = await connect({ servers: nats.url });
    await migrate(chOpts());
    client = createClickHouseClient(chOpts());
    // Readings 03:00-10:50: each device every 10 minutes; temp rises by 1 a reading within the hour,
    // rpm is 1000 + the hour. pump-1's 09:30 temp scores 0.95, fan-1's temps 0.5, the rest 0.1.
    const rows: Row[] = [];
    for (const [d, dev] of DEVICES.entries()) {
      for (let hour = 3; hour <= 10; hour++) {
        for (let k = 0; k < 6; k++) {
          const score = dev.id === "pump-1" && hour === 9 && k === 3 ? 0.95 : dev.id === "fan-1" ? 0.5 : 0.1;
          rows.push({ device_id: dev.id, epoch: 0, seq: hour * 10 + k, ts_ms: h(hour) + k * 600_000, metric_names: ["temp", "rpm"], metric_values: [dev.temp + k, 1000 + hour], metric_scores: [score, 0], score, log: "", stream_seq: d * 1000 + hour * 10 + k });
        }
      }
    }
    await insertReadings(client, rows);
    // 09:00-10:00: pump-1's anomaly explained (stored twice: a replay), another of pump-1 two
    // readings later that joined its incident, and fan-1's (same seq, another device); alert transitions
    // (pump-1's raise stored twice), one of 08:00 that the 09:00 reports must not count.
    const analysis = (device: string, seq: number) => ({ device_id: device, epoch: 0, seq, ts_ms: h(9) + 30 * 60_000, metric: "temp", score: 0.95, summary: "s", likely_cause: "c", suggested_action: "a", provider: "local", model: "m", prompt_version: "", cached: 0, degraded: 0, cost_usd: 0 });
    await client.insert({ table: "analyses", format: "JSONEachRow", values: [analysis("pump-1", 93), analysis("pump-1", 93), { ...analysis("pump-1", 95), metric: "rpm", summary: "", provider: "shoal", model: "incident", incident_epoch: 0, incident_seq: 93, incident_ts_ms: h(9) + 30 * 60_000 }, analysis("fan-1", 93)] });
    const transition = (device: string, rule: string, version: number, kind: string, at: number) => ({ alert_id: `${rule}/${device}`, version, device_id: device, rule, metric: "temp", kind, state: "firing", severity: "warning", at_ms: at, started_at_ms: at, value: 1, summary: "", by: "", reason: "", flapping: 0 });
    await client.insert({
      table: "alert_transitions",
      format: "JSONEachRow",
      values: [transition("pump-1", "anomaly", 1, "raised", h(9) + 60_000), transition("pump-1", "anomaly", 1, "raised", h(9) + 60_000), transition("pump-1", "anomaly", 2, "cleared", h(9) + 120_000), transition("fan-1", "offline", 1, "raised", h(9) + 180_000), transition("fan-1", "offline", 7, "raised", h(8))],
    });
    // The last report before 3 hours of downtime: 06:00 (4 periods back at 10:30).
    await client.insert({ table: "reports", format: "JSONEachRow", values: [{ report_id: `fleet-hourly/${iso(6)}`, kind: "fleet-hourly", scope: "fleet", period_from_ms: h(6), period_to_ms: h(7), created_at_ms: h(7), title: "seeded", body: "seeded", provider: "local", model: "m", cost_usd: 0 }] });
    const cfg = pipelineConfig({ nats: nats.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url });
    gatewayRole = await startGatewayRole({ ...cfg.gateway, listen: { ...cfg.gateway.listen, port: 0 } }, { env: {} });
  }, 120_000);

  afterAll(async () => {
    for (const r of roles) await r.close();
    await gatewayRole?.close();
    await gateway.close();
    await client?.close();
    await nc?.close();
    await Promise.all([consul?.cleanup(), ch?.cleanup(), nats?.cleanup()]);
  });

  it("after 3 hours of downtime generates exactly the 3 missing periods, each once; a group reads only its devices", async () => {
    const a = await startRole("a");
    await waitFor(async () => a.stats(), (s) => s.leader && s.scheduler.idleUntilMs > 0, 60_000, "the first catch-up pass");
    expect(a.stats().scheduler).toMatchObject({ generated: 4, existed: 0, failures: 0 });
    expect(await counts()).toEqual([
      `fleet-hourly/${iso(6)} ×1`,
      `fleet-hourly/${iso(7)} ×1`,
      `fleet-hourly/${iso(8)} ×1`,
      `fleet-hourly/${iso(9)} ×1`,
      // A schedule with no report yet starts with the newest due period only.
      `pumps-hourly/${iso(9)} ×1`,
    ]);
    expect(await rawRows()).toBe(5);
    expect(summarized).toEqual([`fleet-hourly/${iso(7)}`, `fleet-hourly/${iso(8)}`, `fleet-hourly/${iso(9)}`, `pumps-hourly/${iso(9)}`]);
    // Next due: the 10:00 period at 11:02.
    expect(a.stats().scheduler.idleUntilMs).toBe(h(11) + 120_000);

    // The figures of 09:00-10:00 from the rollups (-Merge), analyses and alert transitions.
    const temps = DEVICES.flatMap((d) => [0, 1, 2, 3, 4, 5].map((k) => d.temp + k));
    const mean = temps.reduce((s, v) => s + v, 0) / temps.length;
    const std = Math.sqrt(temps.reduce((s, v) => s + v * v, 0) / temps.length - mean * mean);
    const fleet = await body(`fleet-hourly/${iso(9)}`);
    expect(fleet).toContain("Devices 3, readings 36, anomalies 3 in 2 incident(s).");
    expect(fleet).toContain(`| temp | 18 | 3 | 20 | 45 | ${fmt(mean)} | ${fmt(std)} | 0.95 |`);
    expect(fleet).toContain("| rpm | 18 | 3 | 1009 | 1009 | 1009 | 0 | 0 |");
    expect(fleet).toContain("Top devices by anomaly score: pump-1 (temp) 0.95, fan-1 (temp) 0.5, pump-2 (temp) 0.1.");
    expect(fleet).toContain("Alerts raised/cleared by rule: anomaly 1/1, offline 1/0.");
    // The summary (local model) of the 9 figure lines: overview, 2 metrics, 3 top devices, anomalies, 2 rules.
    expect(fleet.split("\n")[0]).toMatch(new RegExp(`^fleet-hourly: fleet, ${iso(9)} – ${iso(10)}: 9 item\\(s\\), \\d+ distinct\\.$`));
    const pumps = await body(`pumps-hourly/${iso(9)}`);
    expect(pumps).toContain("Devices 2, readings 24, anomalies 2 in 1 incident(s).");
    expect(pumps).toContain("| temp | 12 | 2 | 20 | 35 | 27.5 |");
    expect(pumps).toContain("Alerts raised/cleared by rule: anomaly 1/1.");
    expect(pumps).not.toContain("fan-1");
    const other = await body(`fleet-hourly/${iso(8)}`);
    expect(other).toContain("| rpm | 18 | 3 | 1008 | 1008 | 1008 | 0 | 0 |");
    expect(other).toContain("Alerts raised/cleared by rule: offline 1/0.");
  });

  it("a stand-by takes over when the leader stops and generates nothing twice", async () => {
    const [a] = roles;
    const b = await startRole("b");
    await waitFor(async () => b.stats().election?.session, (s) => s !== undefined, 30_000, "b's session");
    expect([a!.stats().leader, b.stats().leader]).toEqual([true, false]);
    const before = summarized.length;
    await a!.close();
    roles.shift();
    await waitFor(async () => b.stats(), (s) => s.leader && s.scheduler.idleUntilMs > 0, 30_000, "b to lead and finish a pass");
    expect(b.stats().scheduler).toMatchObject({ generated: 0, failures: 0 });
    expect(summarized.length).toBe(before);
    expect(await rawRows()).toBe(5);
  });

  it("`shoal reports run` backfills one period idempotently: written, then exists", async () => {
    const out: string[] = [];
    const io = {
      env: { SHOAL_ENV: "test", SHOAL__CLICKHOUSE__URL: ch.url, SHOAL__CLICKHOUSE__DATABASE: DB, SHOAL__NATS__URL: nats.url, SHOAL__GATEWAY__CLIENT__ADDRESS: gatewayRole.address, SHOAL__NODEID: "reports-cli" },
      stdout: (s: string) => void out.push(s),
      stderr: (s: string) => void out.push(`stderr: ${s}`),
    };
    const args = ["run", "--schedule", "fleet-hourly", "--period", "2024-05-01T05:20:00Z"];
    expect(await reportsCommand(args, io)).toBe(0);
    expect(await reportsCommand(args, io)).toBe(0);
    expect(await reportsCommand(["run", "--schedule", "fleet-hourly", "--period", String(h(5))], io)).toBe(0);
    expect(out).toEqual([`written fleet-hourly/${iso(5)}\n`, `exists fleet-hourly/${iso(5)}\n`, `exists fleet-hourly/${iso(5)}\n`]);
    expect(await counts()).toContain(`fleet-hourly/${iso(5)} ×1`);
    expect(await rawRows()).toBe(6);
    // The role's own backfill API agrees; the scheduler's newest stored period is unchanged (a backfill is older).
    expect(await roles[0]!.generate("fleet-hourly", h(5))).toEqual({ reportId: `fleet-hourly/${iso(5)}`, status: "exists" });
    await expect(reportsCommand(["run", "--schedule", "fleet-hourly", "--period", new Date(Date.now()).toISOString()], io)).rejects.toThrow(/has not come yet/);
    await expect(reportsCommand(["run", "--schedule", "nope", "--period", "0"], io)).rejects.toThrow('--schedule "nope" is not configured (reports.schedules: fleet-hourly)');
  });

  it("report rows go through the row log, and the vector indexer embeds each report once as a text of kind report", async () => {
    const log = await createJetStreamRowLog(nc, { writer: "reader", keepMs: 3_600_000, replicas: 1 });
    const rows: Row[] = [];
    for await (const e of log.read(t0 - 60_000, Date.now() + 1_000, { all: true })) {
      if (e.table !== "reports") continue;
      expect(e.format).toBe("JSONEachRow");
      for (const line of Buffer.concat(e.chunks.map((c) => Buffer.from(c))).toString("utf8").split("\n")) if (line !== "") rows.push(JSON.parse(line) as Row);
    }
    log.close();
    const ids = rows.map((r) => String(r["report_id"])).sort();
    expect(ids).toEqual([`fleet-hourly/${iso(5)}`, `fleet-hourly/${iso(7)}`, `fleet-hourly/${iso(8)}`, `fleet-hourly/${iso(9)}`, `pumps-hourly/${iso(9)}`]);
    const dir = mkdtempSync(join(tmpdir(), "shoal-reports-vectors-"));
    const store = new EmbeddedVectorStore({ dir });
    try {
      await store.open();
      const ix = new VectorIndexer({ store, embed: (texts) => Promise.all(texts.map(async (text) => (await gateway.embed({ text, subjectId: "vectors" })).vector)), indexLogs: false });
      await ix.handle({ table: "reports", rows, atMs: Date.now() });
      await ix.handle({ table: "reports", rows, atMs: Date.now() }); // redelivered: the same objects
      expect(await store.count("texts")).toBe(5);
      const got = await store.get("texts", ids.map((id) => textVectorId("report", id)));
      expect(got.map((o) => o.kind)).toEqual(Array(5).fill("report"));
      const q = (await gateway.embed({ text: "pumps-hourly group pumps", subjectId: "vectors" })).vector;
      const hits = await store.search("texts", q, 5, { kinds: ["report"] });
      expect(hits).toHaveLength(5);
      expect(hits.find((x) => x.id === textVectorId("report", `pumps-hourly/${iso(9)}`))).toMatchObject({ deviceId: "", tsMs: h(10) });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
