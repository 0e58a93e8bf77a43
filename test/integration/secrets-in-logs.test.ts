import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { encryptSecret, generateSecretKey, parseSecretKey } from "../../src/config/secrets.js";
import { createGatewayClient } from "../../src/gateway/index.js";
import { freePort, startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { findBinary } from "../harness/binaries.js";
import { exited, spawnRole } from "../support/pipeline.js";

/**
 * Secrets never appear in logs (issue 17): real `shoal gateway` and `shoal bridge` processes run
 * with every kind of secret the project takes — an OpenAI API key (`enc:` encrypted with
 * SHOAL_SECRET_KEY) and a second one from the environment, console tokens (`enc:` and plain),
 * passwords of MQTT (user and dynamic-security admin), ClickHouse and Redis (in its URL, as the
 * schema allows), the secret key itself — at log level debug, and are driven into their error
 * paths: the LLM provider refuses the key (401, as OpenAI answers), Redis refuses the password,
 * Mosquitto refuses the bridge's credentials, callers send wrong, missing and misplaced tokens.
 * Every line they write (stdout and stderr) is searched for every secret value.
 */
const CONFIG_DIR = fileURLToPath(new URL("../../config/", import.meta.url));
const rnd = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;

const SECRET_KEY = generateSecretKey();
const S = {
  openaiKey: rnd("sk-fuzzenc"),
  backupKey: rnd("sk-fuzzenv"),
  operatorToken: rnd("optok"),
  viewerToken: rnd("viewtok"),
  mqttPassword: rnd("mqttpw"),
  mqttAdminPassword: rnd("mqttadm"),
  clickhousePassword: rnd("chpw"),
  redisPassword: rnd("redispw"),
  natsPassword: rnd("natspw"),
  secretKey: SECRET_KEY,
};

/** An OpenAI-compatible endpoint refusing every key as OpenAI does (401, the key masked); records the keys it was sent. */
function refusingOpenAI(seen: string[]): Promise<Server> {
  const server = createServer((req, res) => {
    const key = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    seen.push(key);
    req.resume();
    req.on("end", () => {
      const masked = key.length > 8 ? `${key.slice(0, 3)}${"*".repeat(key.length - 7)}${key.slice(-4)}` : "***";
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: "invalid_request_error", param: null, code: "invalid_api_key" } }));
    });
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r(server)));
}

/** redis-server requiring a password other than the one Shoal is given. */
async function startRedisWithPassword(password: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(findBinary("redis"), ["--port", String(port), "--bind", "127.0.0.1", "--requirepass", password, "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((r) => {
      const s = connect(port, "127.0.0.1", () => (s.destroy(), r(true)));
      s.on("error", () => r(false));
    });
    if (up) return { port, child };
    if (Date.now() > deadline) throw new Error("redis-server did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGTERM, then SIGKILL after 10 s: a role that hangs on shutdown does not hang the test. */
async function stop(child: ChildProcess): Promise<void> {
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited(child);
  clearTimeout(timer);
}

describe("secrets never appear in logs", () => {
  const dir = mkdtempSync(join(tmpdir(), "shoal-secrets-"));
  const seenKeys: string[] = [];
  let openai: Server;
  let redis: { port: number; child: ChildProcess };
  let nats: ServiceHandle;
  let mosquitto: ServiceHandle;
  let output = "";

  beforeAll(async () => {
    openai = await refusingOpenAI(seenKeys);
    [redis, nats, mosquitto] = await Promise.all([startRedisWithPassword(rnd("right")), startNats(), startMosquitto({ secure: true })]);
  });
  afterAll(async () => {
    await new Promise<void>((r) => openai?.close(() => r()));
    redis?.child.kill("SIGKILL");
    await Promise.all([nats?.cleanup(), mosquitto?.cleanup()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("gateway and bridge at debug level, driven into their error paths, log no secret", async () => {
    const key = parseSecretKey(SECRET_KEY);
    const gatewayPort = await freePort();
    const openaiUrl = `http://127.0.0.1:${(openai.address() as AddressInfo).port}/v1`;
    // NATS credentials travel in its URL (this test server has no auth: it ignores them); the
    // bridge logs the URL it connects to ("bridge started"), and the logger must drop the password.
    const natsUrl = nats.url.replace("nats://", `nats://shoal:${S.natsPassword}@`);
    copyFileSync(join(CONFIG_DIR, "default.yaml"), join(dir, "default.yaml"));
    const prompt = (model: string, fallback: string[]) => ({ versions: { v1: { model, fallback, user: "{{title}} {{items}} {{deviceId}} {{values}}" } }, split: { v1: 100 } });
    writeFileSync(
      join(dir, "secrets.yaml"),
      stringify({
        log: { level: "debug" },
        nats: { url: natsUrl, partitions: 4 },
        mqtt: { url: mosquitto.url, connections: 1, username: "shoal-bridge", password: encryptSecret(S.mqttPassword, key), adminUsername: "shoal-admin", adminPassword: S.mqttAdminPassword },
        clickhouse: { url: "http://127.0.0.1:1", password: encryptSecret(S.clickhousePassword, key) },
        redis: { url: `redis://default:${S.redisPassword}@127.0.0.1:${redis.port}` },
        console: { tokens: [{ name: "runtime", role: "operator", token: encryptSecret(S.operatorToken, key) }, { name: "viewer", role: "viewer", token: S.viewerToken }] },
        gateway: {
          listen: { port: gatewayPort },
          providers: {
            openai: { kind: "openai", baseUrl: openaiUrl, apiKey: encryptSecret(S.openaiKey, key), retry: { maxAttempts: 1 } },
            backup: { kind: "openai", baseUrl: openaiUrl, apiKeyEnv: "FUZZ_BACKUP_OPENAI_KEY", retry: { maxAttempts: 1 } },
          },
          models: { gpt: { provider: "openai", name: "gpt-4o-mini" }, gpt2: { provider: "backup", name: "gpt-4o-mini" } },
          prompts: { summarize: prompt("gpt", ["gpt2"]), explain: prompt("gpt2", []) },
          gate: { explainMinScore: 0 },
        },
      }),
    );
    const env = { SHOAL_CONFIG_DIR: dir, SHOAL_ENV: "secrets", SHOAL_SECRET_KEY: SECRET_KEY, FUZZ_BACKUP_OPENAI_KEY: S.backupKey, SHOAL__GRPC__WEBPORT: "0" };
    const gateway = spawnRole("gateway", env, (s) => (output += s));
    // One bridge is refused by the broker's admin (dynamic security) and stops; one does not drive
    // the broker and keeps retrying MQTT with its refused credentials.
    const adminRefused = spawnRole("bridge", env, (s) => (output += s));
    const bridge = spawnRole("bridge", { ...env, SHOAL__MQTT__ADMINPASSWORD: "" }, (s) => (output += s));
    try {
      const as = (token?: string) => createGatewayClient({ address: `127.0.0.1:${gatewayPort}`, ...(token !== undefined ? { token } : {}), timeoutMs: 10_000, scoreBatch: { maxBatch: 1 } });
      const ops = as(S.operatorToken);
      await ops.waitForReady(60_000);
      const window = { deviceId: "d-1", metric: "t", values: [1, 2, 1, 2, 1, 50] };
      // Refused by the provider (401) on both keys: answered locally in the end.
      expect((await ops.summarize({ title: "daily", items: ["a hot"] })).summary).not.toBe("");
      expect((await ops.explain({ window, score: 0.99 })).summary).not.toBe("");
      await ops.embed({ text: "pump" });
      ops.close();
      // Wrong, missing and misplaced tokens (a password sent as a token).
      for (const token of [S.viewerToken, undefined, "not-a-token", S.mqttPassword, S.openaiKey]) {
        const c = as(token);
        await expect(c.summarize({ title: "x", items: ["y"] })).rejects.toMatchObject({ code: "auth" });
        c.close();
      }
      // (The refused bridge prints its error but does not exit on its own: its NATS connection stays open. Stopped below.)
      const deadline = Date.now() + 20_000;
      // (The bridge refused by MQTT says "bridge started" once its wait for a subscription ran out.)
      while (!(/mqtt connection error/.test(output) && /refused the admin credentials/.test(output) && /"msg":"bridge started"/.test(output)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    } finally {
      await Promise.all([gateway, bridge, adminRefused].map(stop));
      if (process.env.FUZZ_SECRETS_LOG) writeFileSync(process.env.FUZZ_SECRETS_LOG, output);
    }
    // The secrets were in use: the provider was sent both keys.
    expect(new Set(seenKeys)).toEqual(new Set([S.openaiKey, S.backupKey]));
    // The error paths were reached (log level debug: every line the roles write at any level is here).
    const lines = output.split("\n").filter((l) => l.trim() !== "");
    expect(output).toMatch(/"msg":"gateway started"/);
    expect(output).toContain(`nats://shoal:[redacted]@`); // the URL was logged, without its password
    expect(output).toMatch(/refused the admin credentials/);
    expect(output).toMatch(/mqtt connection error/);
    expect(output).toMatch(/WRONGPASS/);
    const leaks = Object.entries(S).flatMap(([name, value]) => lines.filter((l) => l.includes(value)).map((l) => `${name}: ${l.slice(0, 300)}`));
    expect(leaks).toEqual([]);
  });
});
