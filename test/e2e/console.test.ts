/**
 * The operators' console in a real browser (docs/adr/0018-console.md): `shoal up --demo` (every
 * role in one child process, the device simulator publishing over MQTT) on real NATS JetStream,
 * Mosquitto, ClickHouse and Consul, with viewer/operator/admin tokens; Debian's Chromium driven by
 * playwright-core opens the console the process prints. Screenshots of every page go to
 * .shoal/artifacts/console/ (test artefacts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { startClickHouse, startConsul, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { chQuery, pipelineEnv } from "../support/pipeline.js";
import { bearerTransport, CONSOLE_TOKENS, consoleTokensEnv, signedInPage, startConsoleUp, type ConsoleRole, type ConsoleUp } from "../support/console-up.js";
import { launchChromium, screenshot } from "../support/browser.js";
import { ConfigService } from "../../src/gen/shoal/v1/config_pb.js";


describe("the console in Chromium on a running pipeline with the simulator", () => {
  let nats: ServiceHandle;
  let mq: ServiceHandle;
  let ch: ServiceHandle;
  let consul: ServiceHandle;
  let up: ConsoleUp | undefined;
  let browser: Browser;
  let vectorsDir: string;

  const configClient = (role: ConsoleRole) => createClient(ConfigService, bearerTransport(up!.url, role));

  /** A fresh page signed in as `role`, at `hash`. */
  const signedIn = (role: ConsoleRole, hash = "#/fleet") => signedInPage(browser, up!.url, role, hash);
  const num = async (page: Page, testid: string) => Number(((await page.getByTestId(testid).first().textContent()) ?? "").replace(/[^\d.]/g, "") || "NaN");

  beforeAll(async () => {
    [nats, mq, ch, consul] = await Promise.all([startNats(), startMosquitto(), startClickHouse(), startConsul()]);
    vectorsDir = mkdtempSync(join(tmpdir(), "shoal-console-vectors-"));
    const env = pipelineEnv(
      { nats: nats.url, mqtt: mq.url, clickhouse: ch.url },
      {
        SHOAL__CONSUL__URL: consul.url,
        SHOAL__CLICKHOUSE__DATABASE: "e2e_console",
        SHOAL__QUERY__PORT: "0",
        SHOAL__QUERY__WEBPORT: "0",
        SHOAL__ADMIN__PORT: "0",
        SHOAL__GRPC__WEBPORT: "0",
        SHOAL__GATEWAY__LISTEN__PORT: "0",
        SHOAL__VECTORS__EMBEDDED__DIR: vectorsDir,
        SHOAL__DETECTOR__PARAMS__WARMUP: "20",
        SHOAL__QUERY__FLEETINTERVAL: "1s",
        SHOAL__CONSOLE__TOKENS: consoleTokensEnv(),
      },
    );
    up = await startConsoleUp(env, ["--no-stack", "--demo", "--devices", "12", "--rate", "120"]);
    // Version 1 of the Consul document, so that the admin's change below can be rolled back to it.
    await configClient("admin").setConfigKey({ path: "reports.catchUpMax", valueYaml: "48", message: "baseline" });
    browser = await launchChromium();
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await up?.stop();
    await Promise.all([nats?.cleanup(), mq?.cleanup(), ch?.cleanup(), consul?.cleanup()]);
    if (vectorsDir) rmSync(vectorsDir, { recursive: true, force: true });
  });

  it("asks for a token, refuses a wrong one, and the fleet page shows the simulated devices live", async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await page.goto(`${up!.url}/#/fleet`);
    await page.getByTestId("login-token").fill("not-a-token-of-this-console");
    await page.getByTestId("login-submit").click();
    await expect.poll(() => page.getByTestId("login-error").textContent(), { timeout: 10_000 }).toContain("unknown token");
    await page.getByTestId("login-token").fill(CONSOLE_TOKENS.viewer);
    await page.getByTestId("login-submit").click();
    await expect.poll(() => page.getByTestId("caller-role").textContent(), { timeout: 15_000 }).toContain("viewer");
    await expect.poll(() => num(page, "fleet-count-devices"), { timeout: 60_000 }).toBe(12);
    await expect.poll(() => num(page, "fleet-count-online"), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId("device-table-row").count(), { timeout: 30_000 }).toBe(12);
    // Live: the ingest-rate sparkline gains points from the WatchFleet stream, with no reload.
    const points = Number(await page.getByTestId("fleet-ingest-sparkline").getAttribute("data-points"));
    await expect.poll(async () => Number(await page.getByTestId("fleet-ingest-sparkline").getAttribute("data-points")), { timeout: 20_000 }).toBeGreaterThan(points);
    expect(await num(page, "fleet-ingest-rate")).toBeGreaterThan(0);
    expect(await page.getByTestId("fleet-incident-rate").textContent()).toMatch(/^[\d.,]+\/min$/);
    // The figures say when they were computed (a console opens on the read side's last ones).
    expect(await page.getByTestId("fleet-as-of").textContent()).toMatch(/^Figures as of (just now|.+ ago)$/);
    // Search by prefix: the URL says it, so the link can be shared.
    const ids = await page.getByTestId("device-table-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-key") ?? ""));
    const prefix = ids[ids.length - 1]!;
    await page.getByTestId("fleet-prefix").fill(prefix);
    await expect.poll(() => page.getByTestId("device-table-row").count(), { timeout: 15_000 }).toBe(ids.filter((id) => id.startsWith(prefix)).length);
    expect(ids.filter((id) => id.startsWith(prefix)).length).toBeLessThan(12);
    expect(decodeURIComponent(page.url())).toContain(`prefix=${prefix}`);
    await screenshot(page, "fleet");
    await page.close();
  });

  it("a device page's chart grows live and shows an injected anomaly with its explanation", async () => {
    const page = await signedIn("viewer");
    // The most anomalous device now (the simulator injects spikes; the actors score them).
    await expect.poll(() => page.getByTestId("fleet-top-row").count(), { timeout: 120_000 }).toBeGreaterThan(0);
    await page.getByTestId("fleet-top-row").first().locator("a").first().click();
    await expect.poll(() => page.url()).toContain("#/device/");
    const chart = page.getByTestId("device-chart").first();
    await expect.poll(async () => Number(await chart.getAttribute("data-points")), { timeout: 30_000 }).toBeGreaterThan(0);
    const before = Number(await chart.getAttribute("data-points"));
    await expect.poll(async () => Number(await chart.getAttribute("data-points")), { timeout: 30_000 }).toBeGreaterThan(before + 3);
    // Its anomalies, one selected: the explanation the model gateway wrote.
    await expect.poll(() => page.getByTestId("device-anomalies-row").count(), { timeout: 60_000 }).toBeGreaterThan(0);
    await page.getByTestId("device-anomaly-select").first().click();
    await expect.poll(async () => ((await page.getByTestId("anomaly-explanation").textContent()) ?? "").trim().length, { timeout: 30_000 }).toBeGreaterThan(10);
    expect(await page.getByTestId("device-state-partition").textContent()).toMatch(/\d/);
    await screenshot(page, "device");
    await page.close();
  });

  it("an anomaly that joined an open incident links to the anomaly that opened it, which holds the explanation", async () => {
    // Two stored analyses of a simulated device, as the device actor writes them: a per-metric
    // anomaly with its explanation and, six readings later, a device-level one that joined it.
    const [{ d }] = (await chQuery<{ d: string }>(ch.url, "e2e_console", "SELECT any(device_id) AS d FROM readings")) as [{ d: string }];
    const at = Date.now() - 60_000;
    const base = { device_id: d, epoch: 77, prompt_version: "", cached: 0, degraded: 0, cost_usd: 0 };
    const rows = [
      { ...base, seq: 9_000_001, ts_ms: at, metric: "outlet", score: 0.97, summary: "outlet stepped up by 10", likely_cause: "a valve", suggested_action: "check the valve", provider: "local", model: "local", reasons: '[{"metric":"outlet","term":"range","score":0.97}]', incident_epoch: 77, incident_seq: 9_000_001, incident_ts_ms: at },
      { ...base, seq: 9_000_007, ts_ms: at + 6_000, metric: "inlet", score: 0.93, summary: "", likely_cause: "", suggested_action: "", provider: "shoal", model: "incident", reasons: '[{"metric":"inlet","term":"joint","score":0.93}]', incident_epoch: 77, incident_seq: 9_000_001, incident_ts_ms: at },
    ];
    const res = await fetch(`${ch.url}/?database=e2e_console&query=${encodeURIComponent("INSERT INTO analyses FORMAT JSONEachRow")}`, { method: "POST", body: rows.map((r) => JSON.stringify(r)).join("\n") });
    expect(res.status, await res.text()).toBe(200);
    const page = await signedIn("viewer", `#/device/${encodeURIComponent(d)}`);
    // Our rows (the simulator's metrics are others; its own anomalies may be listed too).
    const ours = page.getByTestId("device-anomalies-row").filter({ hasText: "inlet: joint" });
    await expect.poll(() => ours.count(), { timeout: 30_000 }).toBe(1);
    // The device's counts: those two anomalies are one incident (GetDevice, then the live stream).
    await expect.poll(() => num(page, "device-state-incidents"), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    const anomalies = await num(page, "device-state-anomalies");
    const incidents = await num(page, "device-state-incidents");
    expect(anomalies - incidents, `${anomalies} anomalies, ${incidents} incidents`).toBeGreaterThanOrEqual(1);
    const joined = ours.getByTestId("anomaly-joined");
    expect(await joined.textContent()).toMatch(/^Part of the incident opened by outlet at .+: explained there$/);
    // Selected, it says where its explanation is instead of a model that never answered it.
    await ours.getByTestId("device-anomaly-select").click();
    await expect.poll(() => page.getByTestId("anomaly-explained-by").textContent(), { timeout: 10_000 }).toContain("the incident's first anomaly is explained");
    // Following the link selects the opening anomaly, whose explanation it shares.
    await joined.getByTestId("anomaly-joined-opener").click();
    await expect.poll(() => decodeURIComponent(page.url()), { timeout: 10_000 }).toContain(`at=${at}`);
    await expect.poll(() => page.getByTestId("anomaly-summary").textContent(), { timeout: 10_000 }).toBe("outlet stepped up by 10");
    expect(await page.getByTestId("anomaly-explained-by").textContent()).toContain("local");
    await screenshot(page, "device-incident");
    await page.close();
  });

  it("a viewer cannot change the configuration: the button is disabled and the server refuses", async () => {
    const page = await signedIn("viewer", "#/config");
    await expect.poll(() => page.getByTestId("config-table-row").count(), { timeout: 30_000 }).toBeGreaterThan(50);
    const edit = page.locator('[data-testid="config-table-row"][data-path="detector.threshold"] [data-testid="config-edit"]');
    expect(await edit.getAttribute("aria-disabled")).toBe("true");
    expect(await edit.getAttribute("data-disabled-reason")).toContain("admin");
    const refused = await configClient("viewer")
      .setConfigKey({ path: "detector.threshold", valueYaml: "0.5" })
      .then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(refused?.code).toBe(Code.PermissionDenied);
    await screenshot(page, "config-viewer");
    await page.close();
  });

  it("an admin sees the validator's message before saving, changes detector.threshold, sees it applied, and rolls it back", async () => {
    const page = await signedIn("admin", "#/config");
    const row = page.locator('[data-testid="config-table-row"][data-path="detector.threshold"]');
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    const original = ((await row.textContent()) ?? "").includes("default");
    expect(original).toBe(true);
    await row.getByTestId("config-edit").click();
    const value = page.getByTestId("config-editor-value");
    await value.fill("not-a-number");
    await expect.poll(() => page.getByTestId("config-validation").getAttribute("data-valid"), { timeout: 10_000 }).toBe("false");
    expect(await page.getByTestId("config-validation-problems").textContent()).toContain("detector.threshold");
    await value.fill("0.97");
    await expect.poll(() => page.getByTestId("config-validation").getAttribute("data-valid"), { timeout: 10_000 }).toBe("true");
    await page.getByTestId("config-save").click();
    await expect.poll(() => page.getByTestId("config-saved").count(), { timeout: 15_000 }).toBe(1);
    // Applied: the process's watcher took it from Consul and WatchConfig shows it with its source.
    await expect.poll(async () => (await row.textContent()) ?? "", { timeout: 30_000 }).toMatch(/0\.97.*consul/);
    await screenshot(page, "config-changed");
    // History: the change is version 2 (the baseline is 1); roll back to 1.
    await expect.poll(() => page.locator('[data-testid="config-history-row"][data-version="2"]').count(), { timeout: 15_000 }).toBe(1);
    await page.locator('[data-testid="config-history-row"][data-version="1"] [data-testid="config-rollback"]').click();
    await page.getByTestId("config-rollback-dialog-confirm").click();
    await expect.poll(() => page.getByTestId("config-rollback-done").count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(async () => (await row.textContent()) ?? "", { timeout: 30_000 }).toMatch(/default/);
    expect((await configClient("admin").listConfigHistory({})).versions.map((v) => [Number(v.version), v.author])).toEqual([
      [3, "admin-1"],
      [2, "admin-1"],
      [1, "admin-1"],
    ]);
    await screenshot(page, "config-rolled-back");
    await page.close();
  });

  it("alerts, cluster and search pages render live for an operator (screenshots)", async () => {
    const page = await signedIn("operator", "#/alerts");
    await expect.poll(() => page.getByTestId("alerts-table-row").count(), { timeout: 90_000 }).toBeGreaterThan(0);
    await screenshot(page, "alerts");
    await page.getByTestId("nav-cluster").click();
    await expect.poll(() => page.getByTestId("cluster-workers-row").count(), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await page.getByTestId("worker-restart").first().getAttribute("aria-disabled")).not.toBe("true");
    await screenshot(page, "cluster");
    await page.getByTestId("nav-search").click();
    await page.getByTestId("search-input").fill("spike");
    await page.getByTestId("search-submit").click();
    await expect.poll(() => page.getByTestId("search-count").count(), { timeout: 20_000 }).toBe(1);
    await screenshot(page, "search");
    await page.close();
  });
});
