/**
 * Alerts end to end on real services (docs/adr/0016-alerts.md): the device simulator publishes over
 * MQTT (Mosquitto) with injected anomalies; the bridge journals them in NATS JetStream; the device
 * actors evaluate the alert rules and store transitions in ClickHouse and the row log; the relay
 * publishes them on SHOAL_ALERTS; the notifier signs and posts one webhook per transition to a real
 * HTTP receiver. An operator acknowledges and resolves over gRPC from Debian's python3-grpcio (the
 * command travels through the device's journal partition to its actor).
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startClickHouse, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { startWebhookReceiver, type WebhookReceiver } from "../harness/webhook-receiver.js";
import { startBridgeRole, type BridgeRole } from "../../src/cli/roles/bridge-role.js";
import { startRuntimeRole, type RuntimeRole } from "../../src/cli/roles/runtime-role.js";
import { startAlertsRole, type AlertsRole } from "../../src/cli/roles/alerts-role.js";
import { startQueryRole, type QueryRole } from "../../src/cli/roles/query-role.js";
import { startConsoleRole, type ConsoleRole } from "../../src/cli/roles/console-role.js";
import { simulate } from "../../src/simulator/simulator.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from "../../src/alerts/index.js";
import type { ShoalConfig } from "../../src/config/index.js";
import type { CommandIo } from "../../src/cli/io.js";
import { run as runAlerts } from "../../src/cli/alerts.command.js";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { AlertService } from "../../src/gen/shoal/v1/alert_pb.js";
import { chQuery, pipelineConfig, quietLogger, waitFor } from "../support/pipeline.js";

const DB = "e2e_alerts";
const execFileAsync = promisify(execFile);
const SECRET = "e2e-webhook-secret-0123456789";

interface TransitionRow {
  alert_id: string;
  version: number;
  device_id: string;
  kind: string;
  state: string;
}

describe("alerts end to end: simulator → actors → ClickHouse → relay → notifier → webhook; operators over gRPC", () => {
  let nats: ServiceHandle;
  let mq: ServiceHandle;
  let ch: ServiceHandle;
  let nc: NatsConnection;
  let hook: WebhookReceiver;
  let cfg: ShoalConfig;
  let runtime: RuntimeRole;
  let bridge: BridgeRole;
  let alerts: AlertsRole;
  let query: QueryRole;
  let consoleRole: ConsoleRole;

  const transitions = () => chQuery<TransitionRow>(ch.url, DB, "SELECT alert_id, toUInt32(version) AS version, device_id, kind, state FROM alert_transitions FINAL WHERE alert_id NOT LIKE 'silence/%' ORDER BY alert_id, version");
  /** Notification ids the receiver accepted (2xx), with how many times each came. */
  const received = () => {
    const counts = new Map<string, number>();
    for (const r of hook.accepted()) {
      const id = (JSON.parse(r.body) as { id: string }).id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  };

  beforeAll(async () => {
    [nats, mq, ch] = await Promise.all([startNats(), startMosquitto(), startClickHouse()]);
    nc = await connect({ servers: nats.url });
    hook = await startWebhookReceiver();
    const base = pipelineConfig({ nats: nats.url, mqtt: mq.url, clickhouse: ch.url }, { SHOAL__CLICKHOUSE__DATABASE: DB, SHOAL__QUERY__PORT: "0", SHOAL__RUNTIME__HEARTBEATTIMEOUT: "1h" });
    cfg = {
      ...base,
      alerts: {
        ...base.alerts,
        // Every anomaly opens an alert and the next ordinary reading clears it: many transitions.
        // "hot": a threshold an operator's test device crosses on purpose (stays firing).
        rules: [
          ...base.alerts.rules.map((r) => (r.id === "anomaly" ? { ...r, clearForMs: 0 } : r)),
          { id: "hot", kind: "threshold", metric: "temp", op: "above", raiseAt: 1000, clearAt: 900, severity: "critical", forMs: 0, clearForMs: 0, escalateAfterMs: 0, flap: { windowMs: 600_000, maxChanges: 4 } },
        ],
        // No storm grouping here: this test counts one notification per transition.
        storm: { maxPerMinute: 100_000 },
        webhooks: [{ name: "ops", url: `${hook.url}/hook`, secret: SECRET, ratePerMinute: 100_000, maxAttempts: 5, timeoutMs: 5_000, retryBaseMs: 100 }],
      },
    };
    const log = quietLogger("e2e-alerts");
    runtime = await startRuntimeRole(cfg, log, "all");
    bridge = await startBridgeRole(cfg, log);
    alerts = await startAlertsRole(cfg, log, { nc });
    query = await startQueryRole(cfg, log, { nc });
    consoleRole = await startConsoleRole(cfg, log, { query: query.query, alerts: query.alerts });
  }, 120_000);

  afterAll(async () => {
    await bridge?.close();
    await consoleRole?.close();
    await query?.close();
    await alerts?.close();
    await runtime?.close();
    await nc?.close();
    await hook?.close();
    await Promise.all([nats?.cleanup(), mq?.cleanup(), ch?.cleanup()]);
  });

  it("injected anomalies open and clear alerts; the webhook gets exactly one signed notification per transition", async () => {
    const sim = await simulate({ url: mq.url, devices: 20, rate: 400, durationSec: 12, anomalyRate: 0.01, devicePrefix: "al", connections: 1, seed: 3 });
    expect(sim.anomaliesInjected).toBeGreaterThan(10);
    // Every transition stored reaches the receiver (the relay and notifier run behind the rows):
    // wait until what was received is exactly what is stored, read at the same moment (devices may
    // still raise or clear alerts from their last readings meanwhile).
    const idsOf = (t: readonly { alert_id: string; version: unknown }[]) => t.map((x) => `${x.alert_id}:${String(x.version)}`).sort();
    const same = (t: readonly { alert_id: string; version: unknown }[]) => t.length > 0 && JSON.stringify(idsOf(t)) === JSON.stringify([...received().keys()].sort());
    await waitFor(transitions, same, 90_000, "a notification for every stored transition");
    // Quiet for a moment (nothing more arrives twice), then compare again.
    await new Promise((r) => setTimeout(r, 1500));
    const stored = await waitFor(transitions, same, 30_000, "the same after a quiet moment");
    const raised = stored.filter((t) => t.kind === "raised" || t.kind === "flapping");
    expect(raised.length).toBeGreaterThan(3);
    expect(stored.some((t) => t.kind === "cleared")).toBe(true);
    const ids = stored.map((t) => `${t.alert_id}:${t.version}`);
    const got = received();
    expect([...got.keys()].sort()).toEqual([...ids].sort());
    expect([...got.values()].filter((n) => n !== 1)).toEqual([]);
    // Versions of each alert count 1, 2, … without a gap, and at most one alert per device and rule is open.
    const byAlert = new Map<string, number[]>();
    for (const t of stored) byAlert.set(t.alert_id, [...(byAlert.get(t.alert_id) ?? []), Number(t.version)]);
    for (const [id, vs] of byAlert) expect(vs, id).toEqual(vs.map((_, i) => i + 1));
    const open = new Map<string, number>();
    for (const [id, vs] of byAlert) {
      const last = stored.find((t) => t.alert_id === id && Number(t.version) === vs.length)!;
      if (last.state !== "resolved") open.set(id.replace(/\/\d+$/, ""), (open.get(id.replace(/\/\d+$/, "")) ?? 0) + 1);
    }
    expect([...open.values()].filter((n) => n > 1)).toEqual([]);
    // Signed with the target's secret over timestamp and body.
    for (const r of hook.accepted().slice(0, 20)) {
      expect(verifyWebhook(SECRET, String(r.headers[TIMESTAMP_HEADER.toLowerCase()]), r.body, String(r.headers[SIGNATURE_HEADER.toLowerCase()]), { nowMs: r.atMs }), r.body.slice(0, 80)).toBe(true);
    }
    expect(verifyWebhook("not-the-secret-0123456789", String(hook.accepted()[0]!.headers[TIMESTAMP_HEADER.toLowerCase()]), hook.accepted()[0]!.body, String(hook.accepted()[0]!.headers[SIGNATURE_HEADER.toLowerCase()]), { nowMs: hook.accepted()[0]!.atMs })).toBe(false);
  }, 180_000);

  describe("an operator over gRPC from Debian's python3-grpcio", () => {
    const dir = mkdtempSync(join(tmpdir(), "shoal-e2e-alerts-py-"));
    const descriptors = join(dir, "shoal.binpb");
    const root = fileURLToPath(new URL("../..", import.meta.url));
    beforeAll(() => {
      execFileSync(join(root, "node_modules/.bin/buf"), ["build", "-o", descriptors], { cwd: root });
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("acknowledges and resolves a firing alert through the journal; each change is stored, published and notified once", async () => {
      // A device crosses the "hot" threshold (mosquitto_pub as the device) and stays there: one firing alert.
      await mosquittoPub(mq.url, "devices/al-hot/readings", [1, 2, 3].map((seq) => JSON.stringify({ deviceId: "al-hot", seq, tsMs: Date.now() - 10_000 + seq, metrics: { temp: 20 + seq * 2000 } })));
      const firing = await waitFor(transitions, (ts) => ts.some((t) => t.device_id === "al-hot" && t.state === "firing"), 30_000, "the hot alert");
      const target = firing.find((t) => t.device_id === "al-hot")!;
      expect(target).toMatchObject({ alert_id: "al-hot/hot/1", version: 1, kind: "raised" });
      const script = fileURLToPath(new URL("../clients/alert_client.py", import.meta.url));
      // Asynchronously: the gRPC server answering it runs in this process.
      const { stdout: out } = await execFileAsync("/usr/bin/python3", [script, query.address, descriptors, "unary", target.device_id, target.alert_id], { encoding: "utf8", timeout: 60_000 });
      const calls = out.trim().split("\n").map((l) => JSON.parse(l) as { call: string; ok: boolean; code?: string; response?: { applied?: boolean; alert?: { state?: string } } });
      const by = (name: string) => calls.filter((c) => c.call === name);
      expect(by("AcknowledgeAlert")[0]).toMatchObject({ ok: true, response: { applied: true, alert: { state: "ALERT_STATE_ACKNOWLEDGED" } } });
      expect(by("ResolveAlert")[0]).toMatchObject({ ok: true, response: { applied: true, alert: { state: "ALERT_STATE_RESOLVED" } } });
      expect(by("ResolveAlert")[1]).toMatchObject({ ok: false, code: "FAILED_PRECONDITION" });
      expect(by("AcknowledgeAlert")[1]).toMatchObject({ ok: false, code: "INVALID_ARGUMENT" });
      const history = await chQuery<{ kind: string; by: string; reason: string }>(ch.url, DB, `SELECT kind, by, reason FROM alert_transitions FINAL WHERE alert_id = '${target.alert_id}' ORDER BY version`);
      expect(history.slice(-2)).toEqual([
        { kind: "acknowledged", by: "py-operator", reason: "on it" },
        { kind: "resolved", by: "py-operator", reason: "fixed" },
      ]);
      // Each operator change notified once, like every other transition.
      await waitFor(async () => received(), (g) => history.every((_, i) => g.get(`${target.alert_id}:${i + 1}`) === 1), 30_000, "the operator's changes notified");
      // The same service over HTTP for browsers and HTTP clients: Connect JSON from curl (a client
      // nobody here wrote) and gRPC-web framing (what a browser console speaks).
      const webUrl = consoleRole.url!;
      expect(webUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const { stdout: viaCurl } = await execFileAsync("curl", ["-sS", "-X", "POST", "-H", "Content-Type: application/json", "-d", JSON.stringify({ alertId: target.alert_id }), `${webUrl}/shoal.v1.AlertService/GetAlert`], { encoding: "utf8", timeout: 30_000 });
      const got = JSON.parse(viaCurl) as { alert: { alertId: string; state: string }; history: { kind: string }[] };
      expect(got.alert).toMatchObject({ alertId: target.alert_id, state: "ALERT_STATE_RESOLVED" });
      expect(got.history.map((h) => h.kind)).toEqual(["TRANSITION_KIND_RAISED", "TRANSITION_KIND_ACKNOWLEDGED", "TRANSITION_KIND_RESOLVED"]);
      const web = createClient(AlertService, createGrpcWebTransport({ baseUrl: webUrl, httpVersion: "1.1" }));
      expect((await web.listAlerts({ deviceId: "al-hot" })).alerts.map((a) => a.alertId)).toEqual([target.alert_id]);
      await expect(web.getAlert({ alertId: "nope" })).rejects.toMatchObject({ code: Code.InvalidArgument });
      // The silence the client created and removed is in the history with who and why.
      const silences = await chQuery<{ kind: string; by: string }>(ch.url, DB, "SELECT kind, by FROM alert_transitions WHERE alert_id LIKE 'silence/%' ORDER BY at_ms, kind DESC");
      expect(silences.map((s) => s.kind)).toEqual(["silenced", "unsilenced"]);
    }, 120_000);
  });

  it("`shoal alerts` operator commands: list, ack, show, silence, unsilence against the running service", async () => {
    await mosquittoPub(mq.url, "devices/al-cli/readings", [JSON.stringify({ deviceId: "al-cli", seq: 1, tsMs: Date.now() - 5_000, metrics: { temp: 4000 } })]);
    await waitFor(transitions, (ts) => ts.some((t) => t.alert_id === "al-cli/hot/1"), 30_000, "the al-cli alert");
    const cli = async (...argv: string[]) => {
      let stdout = "";
      let stderr = "";
      const code = await runAlerts([...argv, "--query", query.address], { stdout: (s: string) => void (stdout += s), stderr: (s: string) => void (stderr += s), env: { SHOAL_STACK_DIR: process.env.SHOAL_STACK_DIR } } as unknown as CommandIo); // no local stack's tokens, even in a checkout that ran one
      return { code, stdout, stderr };
    };
    expect(await cli("list", "--device", "al-cli")).toMatchObject({ code: 0, stdout: expect.stringMatching(/^al-cli\/hot\/1 {2}firing +critical/) });
    expect(await cli("ack", "al-cli/hot/1", "--by", "cli-operator", "--reason", "checking")).toEqual({ code: 0, stdout: "al-cli/hot/1 acknowledged\n", stderr: "" });
    const shown = await cli("show", "al-cli/hot/1");
    expect(shown.stdout).toMatch(/v2 .* acknowledged +by cli-operator \(checking\)/);
    await expect(cli("ack", "al-cli/hot/1")).rejects.toThrow(/needs --by/);
    expect(await cli("show", "nope")).toMatchObject({ code: 1, stderr: expect.stringMatching(/invalid_argument/) });
    const silenced = await cli("silence", "--device", "al-cli", "--for", "30m", "--by", "cli-operator", "--reason", "maintenance");
    const id = /^silence (\S+) until /.exec(silenced.stdout)?.[1];
    expect(id).toBeDefined();
    expect((await cli("silences")).stdout).toContain(`${id}  al-cli  *  until`);
    expect(await cli("unsilence", id!, "--by", "cli-operator")).toMatchObject({ code: 0, stdout: `silence ${id} deleted\n` });
  }, 60_000);

  /** Publishes each line as one QoS 1 message with Debian's mosquitto_pub (a client nobody here wrote). */
  async function mosquittoPub(url: string, topic: string, lines: readonly string[]): Promise<void> {
    const u = new URL(url);
    const child = spawn("mosquitto_pub", ["-h", u.hostname, "-p", u.port, "-t", topic, "-q", "1", "-l", "-i", `pub-alerts-${process.pid}`], { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdin.end(lines.join("\n") + "\n");
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    if (code !== 0) throw new Error(`mosquitto_pub exited ${code}: ${err}`);
  }
});
