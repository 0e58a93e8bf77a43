/**
 * The console's cluster page on a real 2-runtime cluster (Consul leases, NATS JetStream), in
 * Debian's Chromium: a `shoal console` process (a console pod: no runtime, its AdminService
 * forwards to a runtime's admin port with the caller's token) shows both members and the partition
 * map; an operator drains one node and watches its partitions move to the other.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { freePort, releasePort, startClickHouse, startConsul, startNats, type ServiceHandle } from "../harness/index.js";
import { exited, pipelineEnv, spawnRole, waitFor } from "../support/pipeline.js";
import { launchChromium, screenshot } from "../support/browser.js";

const PARTITIONS = 8;
const TOKENS = [
  { name: "watcher", role: "viewer", token: "viewer-token-0123456789abcdef" },
  { name: "oncall", role: "operator", token: "operator-token-0123456789abcdef" },
];

describe("the console's cluster page: drain a node of a 2-runtime cluster and watch the partition map move", () => {
  let nats: ServiceHandle;
  let ch: ServiceHandle;
  let consul: ServiceHandle;
  const children: ChildProcess[] = [];
  const out = new Map<string, string>();
  let adminPort: number;
  let browser: Browser;
  let consoleUrl = "";
  const reap = () => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill("SIGKILL"));

  beforeAll(async () => {
    [nats, ch, consul] = await Promise.all([startNats(), startClickHouse(), startConsul()]);
    adminPort = await freePort();
    const base = pipelineEnv(
      { nats: nats.url, mqtt: "mqtt://127.0.0.1:1", clickhouse: ch.url },
      {
        SHOAL__NATS__PARTITIONS: String(PARTITIONS),
        SHOAL__CLICKHOUSE__DATABASE: "e2e_console_cluster",
        SHOAL__LOG__LEVEL: "info",
        SHOAL__CONSUL__URL: consul.url,
        SHOAL__CONSUL__REGISTERSERVICES: "false",
        SHOAL__GRPC__WEBPORT: "0",
        SHOAL__CONSOLE__TOKENS: JSON.stringify(TOKENS),
      },
    );
    process.once("exit", reap);
    const start = (name: string, role: string, env: Record<string, string>) => {
      out.set(name, "");
      children.push(spawnRole(role, { ...base, ...env }, (s) => out.set(name, out.get(name)! + s)));
    };
    start("c1", "runtime", { SHOAL__NODEID: "console-c1", SHOAL__ADMIN__PORT: String(adminPort) });
    start("c2", "runtime", { SHOAL__NODEID: "console-c2", SHOAL__ADMIN__PORT: "0" });
    start("console", "console", { SHOAL__NODEID: "console-pod", SHOAL__QUERY__PORT: "0", SHOAL__QUERY__WEBPORT: "0", SHOAL__CONSOLE__ADMINADDRESS: `127.0.0.1:${adminPort}` });
    await waitFor(async () => out.get("c1")! + out.get("c2")!, (o) => o.split("runtime joined the cluster").length === 3, 90_000, "both runtimes to join the cluster");
    const printed = await waitFor(async () => out.get("console")!, (o) => /shoal console: http:\/\/[^\s/]+\//.test(o), 90_000, "shoal console to print its URL");
    consoleUrl = /shoal console: (http:\/\/[^\s/]+)\//.exec(printed)![1]!;
    browser = await launchChromium();
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
    await Promise.all(children.map((c) => exited(c)));
    process.off("exit", reap);
    releasePort(adminPort);
    await Promise.all([nats?.cleanup(), ch?.cleanup(), consul?.cleanup()]);
  });

  it("a viewer sees both members but may not drain; an operator drains console-c2 and its partitions move to console-c1", async () => {
    const viewer = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await viewer.goto(`${consoleUrl}/#/cluster`);
    await viewer.getByTestId("login-token").fill(TOKENS[0]!.token);
    await viewer.getByTestId("login-submit").click();
    await expect.poll(() => viewer.getByTestId("cluster-members-row").count(), { timeout: 30_000 }).toBe(2);
    expect(await viewer.getByTestId("member-drain").first().getAttribute("aria-disabled")).toBe("true");
    await viewer.close();

    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await page.goto(`${consoleUrl}/#/cluster`);
    await page.getByTestId("login-token").fill(TOKENS[1]!.token);
    await page.getByTestId("login-submit").click();
    const ownedBy = (node: string) => page.locator(`[data-testid="cluster-partitions-row"][data-owner="${node}"]`).count();
    // The two nodes share the partitions (the plan's split, not necessarily half and half).
    const shared = await waitFor(async () => [await ownedBy("console-c1"), await ownedBy("console-c2")], ([a, b]) => a! > 0 && b! > 0 && a! + b! === PARTITIONS, 90_000, "both nodes to own partitions");
    expect(shared[0]! + shared[1]!).toBe(PARTITIONS);
    await screenshot(page, "cluster-before-drain");
    await page.locator('[data-testid="cluster-members-row"][data-key="console-c2"] [data-testid="member-drain"]').click();
    await page.getByTestId("cluster-dialog-confirm").click();
    // Live (WatchCluster through the console pod): every partition moves to console-c1.
    await expect.poll(async () => [await ownedBy("console-c1"), await ownedBy("console-c2")], { timeout: 120_000 }).toEqual([PARTITIONS, 0]);
    await expect.poll(() => page.locator('[data-testid="cluster-members-row"][data-key="console-c2"] [data-testid="member-undrain"]').count(), { timeout: 15_000 }).toBe(1);
    await screenshot(page, "cluster-after-drain");
    await page.close();
  });
});
