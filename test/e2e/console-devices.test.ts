/**
 * The console's Devices, Commands and Audit pages (issue 17) in Debian's Chromium, on `shoal up`
 * (every role in one process, no simulator) with real NATS JetStream (the registry's KV, the
 * command stream), Mosquitto, ClickHouse (the audit log) and Consul, and viewer/operator/admin
 * tokens: an operator registers a device and sees its password once, disables it, imports three
 * more from a CSV file (a bad row shown first; passwords once, downloadable), sends a command to it
 * (nobody is connected as it) and sees its status, also in the fleet-wide list filtered by status; an admin finds those actions in the audit
 * page; a viewer sees the pages without any usable mutating control, and the server refuses a
 * viewer's mutating call anyway. Screenshots go to .shoal/artifacts/console/.
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { startClickHouse, startConsul, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { pipelineEnv } from "../support/pipeline.js";
import { bearerTransport, consoleTokensEnv, signedInPage, startConsoleUp, type ConsoleRole, type ConsoleUp } from "../support/console-up.js";
import { launchChromium, screenshot } from "../support/browser.js";
import { DeviceService } from "../../src/gen/shoal/v1/device_pb.js";
import { DeviceCommandService } from "../../src/gen/shoal/v1/command_pb.js";

const DEVICE = `e2e-dev-${Date.now().toString(36)}`;

describe("the console's Devices, Commands and Audit pages in Chromium", () => {
  let nats: ServiceHandle;
  let mq: ServiceHandle;
  let ch: ServiceHandle;
  let consul: ServiceHandle;
  let up: ConsoleUp | undefined;
  let browser: Browser;
  let password = "";
  let commandId = "";

  const transport = (role: ConsoleRole) => bearerTransport(up!.url, role);
  const signedIn = (role: ConsoleRole, hash: string) => signedInPage(browser, up!.url, role, hash);
  const row = (page: Page, testid: string, key: string) => page.locator(`[data-testid="${testid}-row"][data-key="${key}"]`);

  beforeAll(async () => {
    [nats, mq, ch, consul] = await Promise.all([startNats(), startMosquitto(), startClickHouse(), startConsul()]);
    const env = pipelineEnv(
      { nats: nats.url, mqtt: mq.url, clickhouse: ch.url },
      {
        SHOAL__CONSUL__URL: consul.url,
        SHOAL__CLICKHOUSE__DATABASE: "e2e_console_devices",
        SHOAL__QUERY__PORT: "0",
        SHOAL__QUERY__WEBPORT: "0",
        SHOAL__ADMIN__PORT: "0",
        SHOAL__GRPC__WEBPORT: "0",
        SHOAL__GATEWAY__LISTEN__PORT: "0",
        SHOAL__CONSOLE__TOKENS: consoleTokensEnv(),
      },
    );
    up = await startConsoleUp(env, ["--no-stack"]);
    browser = await launchChromium();
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await up?.stop();
    await Promise.all([nats?.cleanup(), mq?.cleanup(), ch?.cleanup(), consul?.cleanup()]);
  });

  it("an operator registers a device, sees its password once, and disables it", async () => {
    const page = await signedIn("operator", "#/devices");
    await page.getByTestId("nav-devices").click();
    await expect.poll(() => page.getByTestId("devices-total").textContent(), { timeout: 15_000 }).toContain("matching");
    await page.getByTestId("device-create").click();
    await page.getByTestId("device-create-id").fill(DEVICE);
    await page.getByTestId("device-create-type").fill("thermostat");
    await page.getByTestId("device-create-labels").fill("site=berlin, floor=2");
    await page.getByTestId("device-create-dialog-confirm").click();
    // The password, once, with the note to copy it now.
    await expect.poll(() => page.getByTestId("device-secret").textContent(), { timeout: 15_000 }).toContain("Copy the password");
    expect(await page.getByTestId("device-secret-username").textContent()).toBe(DEVICE);
    password = (await page.getByTestId("device-secret-password").textContent()) ?? "";
    expect(password.length).toBeGreaterThanOrEqual(16);
    const r = row(page, "devices-table", DEVICE);
    await expect.poll(() => r.getByTestId("device-state").textContent(), { timeout: 15_000 }).toBe("enabled");
    expect(await r.getByTestId("device-labels").textContent()).toBe("floor=2, site=berlin");
    await screenshot(page, "devices-created");
    await page.getByTestId("device-secret-dismiss").click();
    expect(await page.getByTestId("device-secret").count()).toBe(0);
    // Not shown again: a reload lists the device without any password on the page.
    await page.reload();
    await expect.poll(() => row(page, "devices-table", DEVICE).count(), { timeout: 15_000 }).toBe(1);
    expect(await page.content()).not.toContain(password);
    // An operator may not rotate or delete (admin): those are there but inert, with the reason.
    expect(await row(page, "devices-table", DEVICE).getByTestId("device-rotate").getAttribute("aria-disabled")).toBe("true");
    expect(await row(page, "devices-table", DEVICE).getByTestId("device-delete").getAttribute("aria-disabled")).toBe("true");
    // Disable, with a reason; the state shows it, and the disabled filter finds it.
    await row(page, "devices-table", DEVICE).getByTestId("device-disable").click();
    await page.getByTestId("device-confirm-reason").fill("e2e: taken out of service");
    await page.getByTestId("device-confirm-confirm").click();
    await expect.poll(() => row(page, "devices-table", DEVICE).getByTestId("device-state").textContent(), { timeout: 15_000 }).toBe("disabled");
    await page.getByTestId("devices-enabled").selectOption("disabled");
    await expect.poll(() => page.getByTestId("devices-table-row").evaluateAll((rows) => rows.map((x) => x.getAttribute("data-key"))), { timeout: 15_000 }).toEqual([DEVICE]);
    expect(decodeURIComponent(page.url())).toContain("enabled=disabled");
    await screenshot(page, "devices-disabled");
    await page.close();
  });

  it("an operator imports devices from a CSV file: a bad row is shown first, then the passwords once with a download", async () => {
    const ids = [1, 2, 3].map((i) => `${DEVICE}-imp${i}`);
    const file = `id,type,labels\n${ids[0]},meter,site=berlin;floor=1\nbad id!,meter,\n${ids[1]},meter,"note=a, b"\n${ids[2]},,\n`;
    const page = await signedIn("operator", "#/devices");
    await page.getByTestId("device-import").click();
    await page.getByTestId("device-import-file").setInputFiles({ name: "fleet.csv", mimeType: "text/csv", buffer: Buffer.from(file) });
    // Checked in the browser with the server's rules: the bad row with its line, nothing sent.
    await expect.poll(() => page.getByTestId("device-import-problem").allTextContents(), { timeout: 5_000 }).toEqual([expect.stringMatching(/^line 3: id: /)]);
    await page.getByTestId("device-import-dialog-confirm").click();
    expect(await page.getByTestId("device-import-dialog").count()).toBe(1);
    // Fixed (the bad row removed in the pasted text): three devices go.
    await page.getByTestId("device-import-text").fill(file.replace("bad id!,meter,\n", ""));
    await expect.poll(() => page.getByTestId("device-import-summary").textContent(), { timeout: 5_000 }).toBe("3 devices ready to import.");
    await page.getByTestId("device-import-dialog-confirm").click();
    await expect.poll(() => page.getByTestId("device-import-counts").textContent(), { timeout: 30_000 }).toContain("3 created, 0 registered already, 0 failed");
    expect(await page.getByTestId("device-import-outcome").allTextContents()).toEqual(["created", "created", "created"]);
    const passwords = await page.getByTestId("device-secrets-password").allTextContents();
    expect(passwords).toHaveLength(3);
    const download = page.waitForEvent("download");
    await page.getByTestId("device-secrets-download").click();
    const saved = await (await download).path();
    const csv = await readFile(saved, "utf8");
    expect(csv.trim().split("\n")).toEqual(["id,username,password", ...ids.map((id, i) => `"${id}","${id}","${passwords[i]}"`)]);
    await screenshot(page, "devices-imported");
    await page.getByTestId("device-secrets-dismiss").click();
    expect(await page.getByTestId("device-secrets").count()).toBe(0);
    // The devices list shows them, with their labels.
    await page.getByTestId("devices-prefix").fill(`${DEVICE}-imp`);
    await expect.poll(() => page.getByTestId("devices-table-row").evaluateAll((rows) => rows.map((x) => x.getAttribute("data-key"))), { timeout: 15_000 }).toEqual(ids);
    expect(await row(page, "devices-table", ids[1]!).getByTestId("device-labels").textContent()).toBe("note=a, b");
    expect(await page.content()).not.toContain(passwords[0]!);
    await page.close();
  });

  it("an operator sends a command to the (absent) device and sees its status", async () => {
    const page = await signedIn("operator", `#/commands?device=${DEVICE}`);
    await page.getByTestId("command-name").fill("set-interval");
    await page.getByTestId("command-payload").fill("[1, 2]");
    await page.getByTestId("command-send").click();
    // Checked before sending: a payload must be a JSON object.
    await expect.poll(() => page.getByTestId("command-payload-error").textContent(), { timeout: 5_000 }).toContain("JSON object");
    await page.getByTestId("command-payload").fill('{ "every": 5 }');
    await page.getByTestId("command-ttl").fill("10m");
    await page.getByTestId("command-send").click();
    await expect.poll(() => page.getByTestId("commands-notice").textContent(), { timeout: 15_000 }).toContain(`queued for ${DEVICE}`);
    commandId = new URL(page.url()).hash.match(/command=([^&]+)/)?.[1] ?? "";
    expect(commandId).not.toBe("");
    // Nobody is connected as the device: it waits (pending) or the broker took it (delivered); never settled.
    await expect.poll(() => page.getByTestId("command-detail-status").textContent(), { timeout: 15_000 }).toMatch(/^(pending|delivered)$/);
    expect(await page.getByTestId("command-detail-payload").textContent()).toBe('{"every":5}');
    expect(await page.getByTestId("command-detail-sent-by").textContent()).toBe("operator-1");
    await expect.poll(() => row(page, "commands-table", decodeURIComponent(commandId)).getByTestId("command-status").textContent(), { timeout: 15_000 }).toMatch(/^(pending|delivered)$/);
    await screenshot(page, "commands");
    // The fleet's commands (no device named), filtered by status in the URL: the open command is
    // among the pending/delivered ones, and not among the failed ones.
    await page.getByTestId("commands-device").fill("");
    await expect.poll(() => new URL(page.url()).hash, { timeout: 5_000 }).not.toContain("device=");
    await page.getByTestId("commands-filter-failed").check();
    await expect.poll(() => decodeURIComponent(new URL(page.url()).hash), { timeout: 5_000 }).toContain("status=failed");
    await expect.poll(() => row(page, "commands-table", decodeURIComponent(commandId)).count(), { timeout: 15_000 }).toBe(0);
    await page.getByTestId("commands-filter-failed").uncheck();
    await page.getByTestId("commands-filter-pending").check();
    await page.getByTestId("commands-filter-delivered").check();
    await expect.poll(() => decodeURIComponent(new URL(page.url()).hash), { timeout: 5_000 }).toContain("status=pending,delivered");
    const fleetRow = row(page, "commands-table", decodeURIComponent(commandId));
    await expect.poll(() => fleetRow.count(), { timeout: 15_000 }).toBe(1);
    expect(await fleetRow.textContent()).toContain(DEVICE);
    await screenshot(page, "commands-fleet");
    await page.close();
  });

  it("an admin sees those actions in the audit page, newest first", async () => {
    const page = await signedIn("admin", "#/audit?target=device%2F" + DEVICE);
    const actions = () => page.getByTestId("audit-action").allTextContents();
    // The audit log is written in batches: refresh until the three calls are in.
    await expect
      .poll(
        async () => {
          await page.getByTestId("audit-refresh").click();
          return actions();
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toEqual(expect.arrayContaining(["shoal.v1.DeviceService/CreateDevice", "shoal.v1.DeviceService/SetDeviceEnabled", "shoal.v1.DeviceCommandService/SendCommand"]));
    const shown = await actions();
    // Newest first: the command came after the disable, which came after the create.
    const at = (a: string) => shown.indexOf(a);
    expect(at("shoal.v1.DeviceCommandService/SendCommand")).toBeLessThan(at("shoal.v1.DeviceService/SetDeviceEnabled"));
    expect(at("shoal.v1.DeviceService/SetDeviceEnabled")).toBeLessThan(at("shoal.v1.DeviceService/CreateDevice"));
    const actors = await page.getByTestId("audit-actor").allTextContents();
    expect(actors.every((a) => a.startsWith("operator-1"))).toBe(true);
    expect((await page.getByTestId("audit-outcome").allTextContents()).every((o) => o === "ok")).toBe(true);
    // The generated password is never in the audit log.
    expect(await page.content()).not.toContain(password);
    // An event in full, with its id (a time-ordered UUID given when it was recorded).
    await page.getByTestId("audit-select").first().click();
    expect(await page.getByTestId("audit-detail-id").textContent()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await page.getByTestId("audit-detail-action").textContent()).toBe(shown[0]);
    await screenshot(page, "audit");
    await page.close();
  });

  it("an admin edits the labels, rotates the credentials (new password once) and deletes a device", async () => {
    const other = `${DEVICE}-b`;
    await createClient(DeviceService, transport("admin")).createDevice({ id: other, labels: { site: "berlin" } });
    const page = await signedIn("admin", `#/devices?prefix=${other}`);
    await expect.poll(() => row(page, "devices-table", other).count(), { timeout: 15_000 }).toBe(1);
    await row(page, "devices-table", other).getByTestId("device-edit").click();
    await page.getByTestId("device-edit-labels").fill("site=hamburg, rack=7");
    await page.getByTestId("device-edit-dialog-confirm").click();
    await expect.poll(() => row(page, "devices-table", other).getByTestId("device-labels").textContent(), { timeout: 15_000 }).toBe("rack=7, site=hamburg");
    await row(page, "devices-table", other).getByTestId("device-rotate").click();
    await page.getByTestId("device-confirm-confirm").click();
    await expect.poll(() => page.getByTestId("device-secret-username").textContent(), { timeout: 15_000 }).toBe(other);
    expect(((await page.getByTestId("device-secret-password").textContent()) ?? "").length).toBeGreaterThanOrEqual(16);
    await row(page, "devices-table", other).getByTestId("device-delete").click();
    await page.getByTestId("device-confirm-confirm").click();
    await expect.poll(() => page.getByTestId("devices-table-empty").count(), { timeout: 15_000 }).toBe(1);
    const gone = await createClient(DeviceService, transport("admin")).getDevice({ id: other }).then(() => undefined, (e: unknown) => e);
    expect((gone as ConnectError).code).toBe(Code.NotFound);
    await page.close();
  });

  it("a viewer sees the pages but no usable mutating control; the server refuses a viewer's mutation anyway", async () => {
    const page = await signedIn("viewer", "#/devices");
    await expect.poll(() => row(page, "devices-table", DEVICE).count(), { timeout: 15_000 }).toBe(1);
    for (const id of ["device-create", "device-import"]) expect(await page.getByTestId(id).getAttribute("aria-disabled")).toBe("true");
    for (const id of ["device-enable", "device-edit", "device-rotate", "device-delete"]) {
      const b = row(page, "devices-table", DEVICE).getByTestId(id);
      expect(await b.getAttribute("aria-disabled"), id).toBe("true");
      expect(await b.getAttribute("title"), id).toMatch(/Needs the (operator|admin) role; you are signed in as viewer/);
    }
    // A click on an inert control opens nothing (forced: playwright itself sees it as disabled).
    await page.getByTestId("device-create").click({ force: true });
    expect(await page.getByTestId("device-create-dialog").count()).toBe(0);
    await page.getByTestId("nav-commands").click();
    await page.getByTestId("commands-device").fill(DEVICE);
    await expect.poll(() => page.getByTestId("commands-table-row").count(), { timeout: 15_000 }).toBe(1);
    expect(await page.getByTestId("command-send-form").count()).toBe(0);
    expect(await page.getByTestId("command-send-forbidden").textContent()).toContain("Needs the operator role");
    await page.getByTestId("nav-audit").click();
    expect(await page.getByTestId("audit-forbidden").textContent()).toContain("Needs the admin role");
    await screenshot(page, "devices-viewer");
    await page.close();
    // Straight at the server with the viewer's token: refused.
    const refused = async (p: Promise<unknown>) => {
      const e = await p.then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(ConnectError);
      expect((e as ConnectError).code).toBe(Code.PermissionDenied);
    };
    await refused(createClient(DeviceService, transport("viewer")).setDeviceEnabled({ id: DEVICE, enabled: true }));
    await refused(createClient(DeviceService, transport("viewer")).createDevice({ id: `${DEVICE}-x` }));
    await refused(createClient(DeviceService, transport("viewer")).importDevices({ csv: `id\n${DEVICE}-y\n` }));
    await refused(createClient(DeviceCommandService, transport("viewer")).sendCommand({ deviceId: DEVICE, name: "reboot" }));
    const still = await createClient(DeviceService, transport("viewer")).getDevice({ id: DEVICE });
    expect(still.device?.enabled).toBe(false);
  });
});
