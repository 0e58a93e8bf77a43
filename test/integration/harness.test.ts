/**
 * The harness itself: every service starts, is usable through a real client, keeps its data
 * across restart()/kill(), and nothing outlives a crashed test process.
 * Run: npx vitest run test/integration/harness.test.ts
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sleep } from "../../src/base/clock.js";
import { connect as natsConnect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import mqtt from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import {
  freePort,
  ServiceMissingError,
  startClickHouse,
  startConsul,
  startMosquitto,
  startNats,
  startRedis,
} from "../harness/index.js";
import type { ServiceHandle, StartupTiming } from "../harness/index.js";

const timings: { service: string; event: string; ms: number }[] = [];
const started: (ServiceHandle & StartupTiming)[] = [];

/** Tracks a handle for teardown and its start time for the summary table. */
async function track<H extends ServiceHandle & StartupTiming>(p: Promise<H>): Promise<H> {
  const h = await p;
  started.push(h);
  timings.push({ service: h.name, event: "start", ms: h.startupMs });
  return h;
}

async function restartTimed(h: ServiceHandle & StartupTiming, event: string): Promise<void> {
  await h.restart();
  timings.push({ service: h.name, event, ms: h.startupMs });
}

afterAll(async () => {
  await Promise.all(started.map((h) => h.cleanup()));
  for (const h of started) expect(existsSync(h.dataDir)).toBe(false);
  console.log(
    "start-to-healthy (ms):\n" + timings.map((t) => `  ${t.service.padEnd(11)} ${t.event.padEnd(16)} ${String(t.ms).padStart(6)}`).join("\n"),
  );
});

/** One RESP command over a raw socket; resolves with the raw reply. */
function redisCommand(port: number, ...args: string[]): Promise<string> {
  const wire = `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("");
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port, host: "127.0.0.1" }, () => socket.write(wire));
    socket.once("data", (d) => {
      resolve(d.toString("utf8"));
      socket.end();
    });
    socket.once("error", reject);
  });
}

async function clickhouse(url: string, query: string): Promise<string> {
  const res = await fetch(`${url}/?query=${encodeURIComponent(query)}`, { method: "POST" });
  const body = await res.text();
  if (!res.ok) throw new Error(`ClickHouse ${res.status}: ${body}`);
  return body;
}

describe("NATS", () => {
  it("runs JetStream, and a file stream survives restart()", async () => {
    const nats = await track(startNats());
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    const jsz = (await (await fetch(`${nats.monitorUrl}/jsz`)).json()) as { disabled?: boolean; config?: { store_dir?: string } };
    expect(jsz.disabled).toBeUndefined();
    expect(jsz.config?.store_dir).toContain(nats.dataDir);

    let nc = await natsConnect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "HARNESS", subjects: ["harness.>"] });
    await jetstream(nc).publish("harness.a", "hello");
    await nc.close();

    await restartTimed(nats, "restart");
    nc = await natsConnect({ servers: nats.url });
    const info = await (await jetstreamManager(nc)).streams.info("HARNESS");
    expect(info.state.messages).toBe(1);
    await nc.close();
  });

  it("can run without JetStream", async () => {
    const nats = await track(startNats({ jetstream: false }));
    const jsz = (await (await fetch(`${nats.monitorUrl}/jsz`)).json()) as { disabled?: boolean };
    expect(jsz.disabled).toBe(true);
  });
});

describe("Mosquitto", () => {
  it("round-trips a QoS 1 publish to a subscriber", async () => {
    const broker = await track(startMosquitto());
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    const client = await mqtt.connectAsync(broker.url, { clientId: "harness-test", reconnectPeriod: 0 });
    try {
      const got = new Promise<string>((resolve) => client.on("message", (_topic, payload) => resolve(payload.toString())));
      await client.subscribeAsync("devices/+/readings", { qos: 1 });
      await client.publishAsync("devices/d1/readings", "42.5", { qos: 1 });
      expect(await got).toBe("42.5");
    } finally {
      await client.endAsync();
    }
  });
});

describe("ClickHouse", () => {
  it("answers SELECT 1 over HTTP, and a table survives kill() + restart()", async () => {
    const ch = await track(startClickHouse());
    expect(ch.tcpPort).not.toBe(ch.port);
    expect(await clickhouse(ch.url, "SELECT 1")).toBe("1\n");
    expect((await clickhouse(ch.url, "SELECT version()")).trim()).toMatch(/^\d+\.\d+/);
    await clickhouse(ch.url, "CREATE TABLE t (id UInt32, v Float64) ENGINE = MergeTree ORDER BY id");
    await clickhouse(ch.url, "INSERT INTO t VALUES (1, 0.5), (2, 1.5)");

    await ch.kill();
    await expect(fetch(`${ch.url}/ping`)).rejects.toThrow();
    await restartTimed(ch, "restart (crash)");
    expect(await clickhouse(ch.url, "SELECT count(), sum(v) FROM t")).toBe("2\t2\n");
  });
});

describe("Redis", () => {
  it("answers PING over a raw socket, and a key survives restart()", async () => {
    const redis = await track(startRedis());
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await redisCommand(redis.port, "PING")).toBe("+PONG\r\n");
    expect(await redisCommand(redis.port, "SET", "harness", "kept")).toBe("+OK\r\n");
    await restartTimed(redis, "restart");
    expect(await redisCommand(redis.port, "GET", "harness")).toBe("$4\r\nkept\r\n");
  });
});

describe("Consul", () => {
  it("two agents run side by side; KV put/get works and survives stop() + restart()", async () => {
    const [a, b] = await Promise.all([track(startConsul()), track(startConsul())]);
    expect(a.port).not.toBe(b.port);
    const put = await fetch(`${a.url}/v1/kv/shoal/harness`, { method: "PUT", body: "kept" });
    expect(await put.text()).toBe("true");
    expect(await (await fetch(`${a.url}/v1/kv/shoal/harness?raw`)).text()).toBe("kept");
    expect((await fetch(`${b.url}/v1/kv/shoal/harness?raw`)).status).toBe(404);

    await a.stop();
    await restartTimed(a, "restart");
    expect(await (await fetch(`${a.url}/v1/kv/shoal/harness?raw`)).text()).toBe("kept");
  });
});

describe("harness", () => {
  it("freePort gives distinct bindable ports", async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
  });

  it("reports a missing binary with the install command", async () => {
    const saved = process.env.SHOAL_REDIS_BIN;
    process.env.SHOAL_REDIS_BIN = "/nonexistent/redis-server";
    try {
      const err = await startRedis().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServiceMissingError);
      expect((err as Error).message).toMatch(/^redis-server not installed: run `npm run stack -- install`/);
    } finally {
      if (saved === undefined) delete process.env.SHOAL_REDIS_BIN;
      else process.env.SHOAL_REDIS_BIN = saved;
    }
  });

  it("a crashed (SIGKILLed) test process leaves no server or temp dir behind", async () => {
    const dir = await mkdtemp(join(tmpdir(), "harness-crash-"));
    const script = join(dir, "crash.mts"); // .mts: ESM with top-level await outside the package
    const harness = fileURLToPath(new URL("../harness/index.ts", import.meta.url));
    await writeFile(
      script,
      `import { startRedis } from ${JSON.stringify(harness)};\n` +
        `const r = await startRedis();\n` +
        `console.log(JSON.stringify({ dataDir: r.dataDir }));\n` +
        `setInterval(() => {}, 1000);\n`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("\n")) resolve(out.split("\n")[0]!);
        });
        child.once("exit", (code) => reject(new Error(`child exited early (${code})`)));
      });
      const { dataDir } = JSON.parse(line) as { dataDir: string };
      const serverPids = (): number[] =>
        readdirSync("/proc")
          .filter((p) => /^\d+$/.test(p))
          .filter((p) => {
            try {
              return readlinkSync(`/proc/${p}/cwd`) === dataDir;
            } catch {
              return false;
            }
          })
          .map(Number);
      expect(serverPids()).toHaveLength(1);

      child.kill("SIGKILL");
      const deadline = Date.now() + 10_000;
      while ((serverPids().length > 0 || existsSync(dataDir)) && Date.now() < deadline) await sleep(100);
      expect(serverPids()).toEqual([]);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
