import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { resolveConfig, type ShoalConfig } from "../../src/config/index.js";
import { createClickHouseClient } from "../../src/adapters/clickhouse/index.js";
import { createLogger, type Logger } from "../../src/observability/logger.js";
import { sleep } from "../../src/base/clock.js";

/** Service URLs a pipeline test runs against (from test/harness). */
export interface ServiceUrls {
  nats: string;
  mqtt: string;
  clickhouse: string;
}

/** Environment variables that point every role at the test's own services. */
export function pipelineEnv(s: ServiceUrls, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SHOAL_ENV: "test",
    SHOAL__NATS__URL: s.nats,
    SHOAL__MQTT__URL: s.mqtt,
    SHOAL__CLICKHOUSE__URL: s.clickhouse,
    SHOAL__CLICKHOUSE__FLUSHINTERVAL: "200ms",
    SHOAL__NATS__PARTITIONS: "8",
    SHOAL__LOG__LEVEL: "warn",
    ...extra,
  };
}

/** Resolved configuration for in-process roles of a test. */
export function pipelineConfig(s: ServiceUrls, extra: Record<string, string> = {}): ShoalConfig {
  return resolveConfig({ env: pipelineEnv(s, extra) }).config;
}

export function quietLogger(name: string): Logger {
  return createLogger({ level: "warn", name });
}

/** Run a SELECT on ClickHouse and return its rows. */
export async function chQuery<T>(url: string, database: string, query: string): Promise<T[]> {
  const c = createClickHouseClient({ url, database, username: "default", password: "" });
  try {
    const rs = await c.query({ query, format: "JSONEachRow" });
    return (await rs.json()) as T[];
  } finally {
    await c.close();
  }
}

/**
 * Wait until `probe` returns a value satisfying `done`, or fail with the last value after `timeoutMs`.
 * (Eventual state of an asynchronous pipeline; the test then asserts exact values.)
 */
export async function waitFor<T>(probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await sleep(200);
    last = await probe();
  }
  return last;
}

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** Start a `shoal <role>` child process with the given environment; output goes to `log`. */
export function spawnRole(role: string, env: Record<string, string>, onOutput?: (s: string) => void, args: readonly string[] = []): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, role, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => onOutput?.(d.toString()));
  child.stderr?.on("data", (d: Buffer) => onOutput?.(d.toString()));
  return child;
}

/** Wait for a child process to exit. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once("exit", (code) => r(code)));
}
