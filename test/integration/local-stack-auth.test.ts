import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { readLocalStackCredentials } from "../../src/cli/local-stack-credentials.js";
import { freePort, releasePort } from "../harness/index.js";
import { exited, spawnRole, waitFor } from "../support/pipeline.js";

/**
 * The local stack (deploy/local/stack.sh) has no open door on loopback either: NATS, ClickHouse,
 * Redis and Consul require the credentials it generates into <stack>/credentials.json, and Shoal's
 * commands find them there when their configuration points at the stack. Run on free ports in a
 * temporary stack dir, so a developer's running stack is not touched.
 */

const script = fileURLToPath(new URL("../../deploy/local/stack.sh", import.meta.url));
const shoalBin = fileURLToPath(new URL("../../bin/shoal.mjs", import.meta.url));

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

/** The first line Redis answers to `lines` sent in one go (RESP inline commands). */
function redisSay(port: number, lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(port, "127.0.0.1");
    let got = "";
    s.on("data", (d) => {
      got += d.toString();
      const replies = got.split("\r\n").filter((l) => l !== "");
      if (replies.length >= lines.length) {
        s.end();
        resolve(replies[lines.length - 1]!);
      }
    });
    s.on("error", reject);
    s.write(lines.map((l) => `${l}\r\n`).join(""));
  });
}

async function chQuery(url: string, sql: string, auth?: { username: string; password: string }): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` } : {};
  const r = await fetch(`${url}/?query=${encodeURIComponent(sql)}`, { headers });
  return { status: r.status, body: await r.text() };
}

describe("the local stack's NATS, ClickHouse, Redis and Consul: generated credentials", () => {
  it("refuses clients without them, keeps them across restarts, prints none, and `shoal up` / `shoal config` find them", async () => {
    const stackDir = await mkdtemp(join(tmpdir(), "shoal-stack-auth-"));
    const names = ["NATS", "NATS_MONITOR", "CLICKHOUSE", "CLICKHOUSE_TCP", "REDIS", "CONSUL", "CONSUL_SERVER", "CONSUL_SERF_LAN", "CONSUL_SERF_WAN", "MOSQUITTO", "MOSQUITTO_TLS"] as const;
    const ports: Record<(typeof names)[number], number> = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()] as const))) as never;
    const env: NodeJS.ProcessEnv = { ...process.env, SHOAL_STACK_DIR: stackDir };
    for (const n of names) env[`SHOAL_${n}_PORT`] = String(ports[n]);
    delete env.SHOAL_STACK_OPEN;
    delete env.SHOAL_MOSQUITTO_ANONYMOUS;
    const urls = {
      nats: `nats://127.0.0.1:${ports.NATS}`,
      clickhouse: `http://127.0.0.1:${ports.CLICKHOUSE}`,
      redis: `redis://127.0.0.1:${ports.REDIS}`,
      // `localhost`, not 127.0.0.1: the match is on the endpoint, not the spelling.
      consul: `http://localhost:${ports.CONSUL}`,
    };
    const services = ["nats", "clickhouse", "redis", "consul"];
    let out = "";
    try {
      const up = await run("bash", [script, "up", ...services], env);
      out += up.out;
      expect(up.code, up.out).toBe(0);
      expect((await stat(join(stackDir, "credentials.json"))).mode & 0o777).toBe(0o600);
      const creds = readLocalStackCredentials(stackDir)!;
      expect(creds.nats.urls).toEqual([urls.nats]);
      expect(creds.clickhouse.url).toBe(urls.clickhouse);
      const secrets = [creds.nats.password, creds.clickhouse.password, creds.redis.password, creds.consul.token];
      expect(new Set(secrets).size).toBe(4);

      // NATS: no credentials or wrong ones are refused; the generated ones get in.
      await expect(connect({ servers: urls.nats, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
      await expect(connect({ servers: urls.nats, reconnect: false, user: "shoal", pass: "wrong" })).rejects.toThrow(/Authorization Violation/i);
      const nc = await connect({ servers: urls.nats, reconnect: false, user: creds.nats.user, pass: creds.nats.password });
      await nc.close();
      // ClickHouse: every user of the users file has the password now (Code 194: password required).
      const anon = await chQuery(urls.clickhouse, "SELECT 1");
      expect(anon.status).not.toBe(200);
      expect(anon.body).toMatch(/Password required|Wrong password/);
      expect((await chQuery(urls.clickhouse, "SELECT 1", { username: "readonly", password: "" })).status).not.toBe(200);
      expect((await chQuery(urls.clickhouse, "SELECT 1", creds.clickhouse)).body.trim()).toBe("1");
      // Redis: NOAUTH before AUTH.
      expect(await redisSay(ports.REDIS, ["PING"])).toMatch(/^-NOAUTH/);
      expect(await redisSay(ports.REDIS, [`AUTH ${creds.redis.password}`, "PING"])).toBe("+PONG");
      // Consul: ACLs deny a request without the token.
      expect((await fetch(`${urls.consul}/v1/kv/probe`, { method: "PUT", body: "x" })).status).toBe(403);
      expect((await fetch(`${urls.consul}/v1/kv/probe`, { method: "PUT", body: "x", headers: { "X-Consul-Token": creds.consul.token } })).status).toBe(200);

      // A restart of the stack keeps the credentials (and the services still want them).
      out += (await run("bash", [script, "down", ...services], env)).out;
      const again = await run("bash", [script, "up", ...services], env);
      out += again.out;
      expect(again.code, again.out).toBe(0);
      expect(readLocalStackCredentials(stackDir)).toEqual(creds);
      expect(await redisSay(ports.REDIS, ["PING"])).toMatch(/^-NOAUTH/);
      const status = await run("bash", [script, "status", ...services], env);
      out += status.out;
      expect(status.code, status.out).toBe(0);
      expect(status.out).toContain(`secret in ${join(stackDir, "credentials.json")}`);

      // The CLI: pointed at the stack, no credentials configured, `shoal config set/get` reach Consul.
      const cli = { SHOAL_STACK_DIR: stackDir, SHOAL__CONSUL__URL: urls.consul, SHOAL__CONSUL__TOKEN: "", SHOAL_ENV: "stackauth" };
      const set = await run(process.execPath, ["--import", "tsx", shoalBin, "config", "set", "detector.threshold", "0.93"], { ...process.env, ...cli });
      out += set.out;
      expect(set.code, set.out).toBe(0);
      const get = await run(process.execPath, ["--import", "tsx", shoalBin, "config", "get", "detector.threshold"], { ...process.env, ...cli });
      expect(get.out.trim()).toBe("0.93");
      // Another stack dir (no credentials there): the same command is refused by Consul's ACLs.
      const refused = await run(process.execPath, ["--import", "tsx", shoalBin, "config", "set", "detector.threshold", "0.94"], { ...process.env, ...cli, SHOAL_STACK_DIR: join(stackDir, "none") });
      expect(refused.code).not.toBe(0);
      expect(refused.out).toMatch(/403|Permission denied/);
      // Nor does a read start on defaults: Consul's refusal stops it, naming consul.token.
      const unread = await run(process.execPath, ["--import", "tsx", shoalBin, "config", "get", "detector.threshold"], { ...process.env, ...cli, SHOAL_STACK_DIR: join(stackDir, "none") });
      expect(unread.code).not.toBe(0);
      expect(unread.out).toContain("consul.token");

      // `shoal up` on the stack (its Mosquitto too) with a Redis-backed actor cache: rows arrive in
      // ClickHouse, the cache holds entries, and nothing secret is printed.
      let upOut = "";
      const shoal = spawnRole(
        "up",
        {
          ...(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>),
          SHOAL_ENV: "stackauth",
          SHOAL__NATS__URL: urls.nats,
          SHOAL__CLICKHOUSE__URL: urls.clickhouse,
          SHOAL__CLICKHOUSE__DATABASE: "stackauth",
          SHOAL__REDIS__URL: urls.redis,
          SHOAL__ACTOR_CACHE__STORE: "redis",
          SHOAL__CONSUL__URL: urls.consul,
          SHOAL__MQTT__URL: `mqtt://127.0.0.1:${ports.MOSQUITTO}`,
          SHOAL__GRPC__WEB_PORT: "0",
          SHOAL__ADMIN__PORT: "0",
          SHOAL__QUERY__PORT: "0",
          SHOAL__QUERY__WEB_PORT: "0",
          SHOAL__GATEWAY__LISTEN__PORT: "0",
          SHOAL__VECTORS__EMBEDDED__DIR: join(stackDir, "vectors"),
          SHOAL__LOG__LEVEL: "info",
        },
        (s) => (upOut += s),
        ["--demo", "--devices", "10", "--rate", "50"],
      );
      try {
        const rows = await waitFor(
          async () => Number((await chQuery(urls.clickhouse, "SELECT count() FROM stackauth.readings", creds.clickhouse)).body.trim()) || 0,
          (n) => n >= 100 || shoal.exitCode !== null,
          90_000,
          "rows of the demo in ClickHouse",
        );
        expect(rows, upOut.slice(-3000)).toBeGreaterThanOrEqual(100);
        expect(upOut).toContain("Shoal is up");
        expect(upOut).not.toMatch(/"level":50/);
        expect(upOut).not.toMatch(/actor cache error|gateway cache error/);
      } finally {
        shoal.kill("SIGTERM");
        await exited(shoal);
      }
      out += upOut;
      for (const s of secrets) expect(out.includes(s), "a generated secret in the output").toBe(false);
    } finally {
      await run("bash", [script, "down", "--purge"], env);
      for (const p of Object.values(ports)) releasePort(p);
      await rm(stackDir, { recursive: true, force: true });
    }
  }, 240_000);
});
