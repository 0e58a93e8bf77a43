import { fileURLToPath } from "node:url";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChildProcess } from "node:child_process";
import { freePort, startClickHouse, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { chQuery, exited, pipelineEnv, spawnRole, waitFor } from "../support/pipeline.js";
import { deadUses, exportedFamilies, metricUses } from "../support/metric-references.js";
import { namingViolations } from "../../src/observability/metric-conventions.js";

/**
 * No dead panels (issue 18): every metric a Grafana dashboard or Prometheus alert rule in deploy/
 * queries is exported by a running role. `shoal up --demo` (every role in one process: bridge,
 * runtime, gateway, query, console, alerts, reports) and standalone `shoal bridge`, `query`,
 * `console`, `alerts`, `reports` and `gateway` run on real NATS, Mosquitto and ClickHouse with
 * simulated devices; their `/metrics` are scraped once readings are stored. Every exported name
 * must also follow the naming convention (src/observability/metric-conventions.ts).
 */
const DEPLOY = fileURLToPath(new URL("../../deploy/", import.meta.url));
const DB = "metrics_coverage";

describe("dashboards and alert rules read only metrics that running roles export", () => {
  let nats: ServiceHandle;
  let mq: ServiceHandle;
  let ch: ServiceHandle;
  const procs: ChildProcess[] = [];
  const ports = { up: 0, bridge: 0, query: 0, console: 0, alerts: 0, reports: 0, gateway: 0 };
  let output = "";

  beforeAll(async () => {
    [nats, mq, ch] = await Promise.all([startNats(), startMosquitto(), startClickHouse()]);
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
    const base = pipelineEnv({ nats: nats.url, mqtt: mq.url, clickhouse: ch.url }, { SHOAL__CLICKHOUSE__DATABASE: DB, SHOAL__QUERY__PORT: "0", SHOAL__QUERY__WEBPORT: "0", SHOAL__ADMIN__PORT: "0", SHOAL__GATEWAY__LISTEN__PORT: "0", SHOAL__VECTORS__EMBEDDED__DIR: mkdtempSync(join(tmpdir(), "shoal-metrics-vectors-")) });
    procs.push(spawnRole("up", { ...base, SHOAL__GRPC__WEBPORT: String(ports.up), SHOAL__NODEID: "cov-up" }, (s) => (output += s), ["--no-stack", "--demo", "--devices", "20", "--rate", "200"]));
    await waitFor(async () => output, (o) => o.includes("Shoal is up"), 90_000, "shoal up to start");
    procs.push(spawnRole("bridge", { ...base, SHOAL__GRPC__WEBPORT: String(ports.bridge), SHOAL__NODEID: "cov-bridge" }, (s) => (output += s)));
    procs.push(spawnRole("query", { ...base, SHOAL__GRPC__WEBPORT: String(ports.query), SHOAL__NODEID: "cov-query" }, (s) => (output += s)));
    for (const role of ["console", "alerts", "reports"] as const) procs.push(spawnRole(role, { ...base, SHOAL__GRPC__WEBPORT: String(ports[role]), SHOAL__NODEID: `cov-${role}` }, (s) => (output += s)));
    procs.push(spawnRole("gateway", { ...base, SHOAL__GATEWAY__LISTEN__METRICSPORT: String(ports.gateway) }, (s) => (output += s)));
    const rows = async () => Number((await chQuery<{ n: string }>(ch.url, DB, "SELECT count() AS n FROM readings").catch(() => [{ n: "0" }]))[0]!.n);
    await waitFor(rows, (n) => n >= 200, 90_000, "simulated readings stored");
  }, 240_000);
  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => exited(p)));
    await Promise.all([nats?.cleanup(), mq?.cleanup(), ch?.cleanup()]);
  });

  const scrape = (port: number) => waitFor(() => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => (r.ok ? r.text() : "")).catch(() => ""), (t) => t.includes("# TYPE"), 60_000, `/metrics on port ${port}`);

  it("every metric of every panel and rule is exported; every role serves its own counters", async () => {
    const [up, bridge, query, console, alerts, reports, gateway] = await Promise.all([ports.up, ports.bridge, ports.query, ports.console, ports.alerts, ports.reports, ports.gateway].map(scrape));
    const uses = metricUses(DEPLOY);
    expect(uses.length).toBeGreaterThan(50);
    expect(deadUses(uses, [up!, bridge!, query!, console!, alerts!, reports!, gateway!])).toEqual([]);
    // Each standalone role serves /metrics with its own counters and the process metrics.
    expect(exportedFamilies(bridge!).get("shoal_bridge_received_total")).toBe("counter");
    expect(exportedFamilies(bridge!).get("shoal_process_cpu_seconds_total")).toBe("counter");
    expect(exportedFamilies(query!).get("shoal_grpc_server_requests_total")).toBe("counter");
    expect(exportedFamilies(console!).get("shoal_grpc_server_requests_total")).toBe("counter");
    expect(exportedFamilies(alerts!).get("shoal_alerts_leader")).toBe("gauge");
    expect(exportedFamilies(reports!).get("shoal_reports_leader")).toBe("gauge");
    expect(exportedFamilies(gateway!).get("shoal_gateway_budget_remaining_usd")).toBe("gauge");
    for (const e of [up, bridge, query, console, alerts, reports, gateway]) expect(exportedFamilies(e!).get("shoal_process_cpu_seconds_total")).toBe("counter");
    // The roles' counters count: readings went through shoal up.
    expect(Number(/^shoal_bridge_accepted_total (\d+)/m.exec(up!)?.[1] ?? 0)).toBeGreaterThan(0);
    expect(Number(/^shoal_sink_rows_written_total (\d+)/m.exec(up!)?.[1] ?? 0)).toBeGreaterThan(0);
    // RED metrics of the gRPC servers: the console's and query's calls are counted with their code.
    const health = await fetch(`http://127.0.0.1:${ports.up}/readyz`);
    expect([200, 503]).toContain(health.status);
    expect(up!).not.toContain("shoal_pipeline_count");
  });

  it("every exported metric is named shoal_<part>_<thing>, counters _total, distributions with a unit", async () => {
    const families = new Map<string, string>();
    for (const port of Object.values(ports)) for (const [k, v] of exportedFamilies(await scrape(port))) families.set(k, v);
    expect(families.size).toBeGreaterThan(100);
    expect(namingViolations(families)).toEqual([]);
  });
});
