/**
 * `shoal config get|set|diff|history|rollback|print` and service registration against a real
 * Consul (1.8.7, started by the harness).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsulError, createConsulKv } from "../../src/adapters/consul/index.js";
import type { ConsulKv } from "../../src/adapters/consul/index.js";
import { run } from "../../src/cli/config.command.js";
import { registerRole, registerService } from "../../src/cli/service-registration.js";
import { createConfigStore, encryptSecret, parseSecretKey } from "../../src/config/index.js";
import { migrate } from "../../src/adapters/clickhouse/index.js";
import { startClickHouse, startConsul } from "../harness/index.js";
import type { ServiceHandle } from "../harness/index.js";
import { sleep } from "../../src/base/clock.js";

const KEY = "shoal/test/config.yaml";
const SECRET_KEY = Buffer.alloc(32, 3).toString("base64");

let consul: ServiceHandle;
let ch: ServiceHandle;
let kv: ConsulKv;
let env: Record<string, string>;
let tmp: string;

async function shoal(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await run(argv, { env, stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

async function json(url: string): Promise<unknown> {
  const res = await fetch(`${consul.url}${url}`);
  return res.json();
}

beforeAll(async () => {
  [consul, ch] = await Promise.all([startConsul(), startClickHouse()]);
  // `set` and `rollback` record themselves in the audit log (ClickHouse of the configuration); the
  // environment's password beats the one the secrets test below stores in Consul.
  await migrate({ url: ch.url, database: "config_cli", username: "default", password: "" });
  kv = createConsulKv({ url: consul.url });
  env = { SHOAL_ENV: "test", SHOAL__CONSUL__URL: consul.url, USER: "tester", SHOAL_SECRET_KEY: SECRET_KEY, SHOAL__CLICKHOUSE__URL: ch.url, SHOAL__CLICKHOUSE__DATABASE: "config_cli", SHOAL__CLICKHOUSE__PASSWORD: "" };
  tmp = mkdtempSync(join(tmpdir(), "shoal-cli-"));
}, 120_000);

afterAll(async () => {
  kv?.close();
  await Promise.all([consul?.cleanup(), ch?.cleanup()]);
  rmSync(tmp, { recursive: true, force: true });
});

describe("shoal config against Consul", () => {
  it("set validates, writes one YAML document and records history; get/print see it", async () => {
    expect(await shoal("history")).toEqual({ code: 0, out: `${KEY}: no history\n`, err: "" });
    expect(await shoal("set", "detector.threshold", "0.95")).toEqual({ code: 0, out: `${KEY}: version 1 written (set detector.threshold)\n`, err: "" });
    expect(await shoal("set", "runtime.snapshotEvery", "45s")).toMatchObject({ code: 0, out: `${KEY}: version 2 written (set runtime.snapshotEvery)\n` });
    expect((await kv.get(KEY)).value).toBe("detector:\n  threshold: 0.95\nruntime:\n  snapshotEvery: 45s\n");
    expect(await shoal("get", "detector.threshold")).toEqual({ code: 0, out: "0.95\n", err: "" });
    expect((await shoal("get", "runtime.snapshotEvery")).out).toBe("45000\n");
    const printed = (await shoal("print")).out;
    expect(printed).toMatch(new RegExp(`^detector\\.threshold +=\\s+0\\.95\\s+# consul:${KEY}$`, "m"));
    expect(printed).toMatch(new RegExp(`^runtime\\.snapshotEveryMs +=\\s+45000\\s+# consul:${KEY}$`, "m"));
    expect(printed).toMatch(/^log\.level +=\s+"silent"\s+# test\.yaml$/m);
    expect(printed).toMatch(/^consul\.url +=\s+"http:\/\/127\.0\.0\.1:\d+"\s+# env:SHOAL__CONSUL__URL$/m);
  });

  it("set rejects invalid values and unknown keys with the exact message and writes nothing", async () => {
    const before = await kv.get(KEY);
    expect(await shoal("set", "detector.threshold", "1.5")).toEqual({
      code: 1,
      out: "",
      err: `invalid configuration:\n  detector.threshold: must be <= 1 (from consul:${KEY})\n`,
    });
    expect(await shoal("set", "detector.thresold", "0.5")).toEqual({
      code: 1,
      out: "",
      err: `invalid configuration:\n  detector: unknown key "thresold" (from consul:${KEY})\n`,
    });
    expect((await shoal("set", "nats.maxAge", "forever")).err).toBe(
      `invalid configuration:\n  nats.maxAge: invalid duration "forever" (expected a number of ms or a string like "250ms", "2s", "5m", "1h", "7d") (from consul:${KEY})\n`,
    );
    const bad = join(tmp, "bad.yaml");
    writeFileSync(bad, "nats:\n  partitions: 0\n  replicas: 2\n");
    expect((await shoal("set", "--file", bad)).err).toBe(
      `invalid configuration:\n  nats.partitions: must be >= 1 (from consul:${KEY})\n  nats.replicas: must be one of 1, 3, 5 (from consul:${KEY})\n`,
    );
    const after = await kv.get(KEY);
    expect(after.modifyIndex).toBe(before.modifyIndex);
    expect((await shoal("history")).out.trim().split("\n")).toHaveLength(2);
  });

  it("history lists versions; diff shows leaf changes; rollback restores a version as a new one", async () => {
    const hist = (await shoal("history")).out.split("\n");
    expect(hist[0]).toMatch(/^ {3}1 {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}[0-9a-f]{12} {2}tester +set detector\.threshold$/);
    expect(hist[1]).toMatch(/ {2}set runtime\.snapshotEvery$/);
    expect((await shoal("diff")).out).toBe("--- version 1\n+++ version 2\n+ runtime.snapshotEvery: \"45s\"\n");
    expect((await shoal("diff", "1")).out).toBe(`--- version 1\n+++ ${KEY}\n+ runtime.snapshotEvery: "45s"\n`);
    const proposal = join(tmp, "proposal.yaml");
    writeFileSync(proposal, "detector:\n  threshold: 0.8\n");
    expect((await shoal("diff", "--file", proposal)).out).toBe(
      `--- ${KEY}\n+++ ${proposal}\n- detector.threshold: 0.95\n+ detector.threshold: 0.8\n- runtime.snapshotEvery: "45s"\n`,
    );
    expect(await shoal("rollback", "1")).toEqual({ code: 0, out: `${KEY}: version 3 written (rollback to 1)\n`, err: "" });
    expect((await kv.get(KEY)).value).toBe("detector:\n  threshold: 0.95\n");
    expect((await shoal("diff", "2", "3")).out).toBe("--- version 2\n+++ version 3\n- runtime.snapshotEvery: \"45s\"\n");
    expect(await shoal("rollback", "99")).toEqual({ code: 1, out: "", err: `${KEY}: no history version 99\n` });
    expect((await shoal("set", "detector.threshold", "null")).code).toBe(0);
    expect((await kv.get(KEY)).value).toBe("{}\n");
    expect((await shoal("get", "detector.threshold")).out).toBe("0.9\n");
  });

  it("secrets: stored encrypted or warned about, never shown by get, diff or history", async () => {
    const enc = encryptSecret("pa55-w0rd", parseSecretKey(SECRET_KEY));
    expect((await shoal("set", "mqtt.password", enc)).code).toBe(0);
    const plain = await shoal("set", "clickhouse.password", "plain-s3cret");
    expect(plain.code).toBe(0);
    expect(plain.err).toBe("warning: clickhouse.password is a secret stored in plain text in Consul; prefer `shoal config encrypt`\n");
    const outputs = [await shoal("get", "mqtt.password"), await shoal("diff"), await shoal("diff", "4"), await shoal("history"), await shoal("print"), await shoal("print", "--json")];
    for (const o of outputs) {
      expect(o.code).toBe(0);
      expect(o.out + o.err).not.toContain("pa55-w0rd");
      expect(o.out + o.err).not.toContain("plain-s3cret");
      expect(o.out + o.err).not.toContain(enc.slice(4));
    }
    expect(outputs[0]!.out).toBe("[redacted]\n");
    expect(outputs[1]!.out).toBe('--- version 5\n+++ version 6\n+ clickhouse.password: "[redacted]"\n');
    // Without the key the CLI cannot check enc: values but still validates everything else.
    const noKey = { ...env };
    delete (noKey as Record<string, string | undefined>).SHOAL_SECRET_KEY;
    const r = await run(["set", "detector.threshold", "0.7"], { env: noKey, stdout: () => {}, stderr: () => {} });
    expect(r).toBe(0);
  });

  it("concurrent writers: check-and-set makes the loser fail instead of overwriting", async () => {
    const store = createConfigStore(kv, { prefix: "shoal", env: "test" });
    const cur = await store.read();
    const validate = () => {};
    await store.write("detector:\n  threshold: 0.5\n", { expectedModifyIndex: cur.modifyIndex, author: "a", message: "a", validate });
    await expect(store.write("detector:\n  threshold: 0.6\n", { expectedModifyIndex: cur.modifyIndex, author: "b", message: "b", validate })).rejects.toMatchObject({
      name: "ConfigConflictError",
      reason: "conflict",
      retryable: true,
    });
    expect((await kv.get(KEY)).value).toBe("detector:\n  threshold: 0.5\n");
  });

  it("a document written by hand is kept as a baseline version on the first CLI write", async () => {
    const key = "shoal/handmade/config.yaml";
    await kv.write([{ key, value: "detector:\n  windowSize: 8\n" }]);
    const e = { ...env, SHOAL_ENV: "handmade" };
    expect((await run(["set", "detector.threshold", "0.6"], { env: e, stdout: () => {}, stderr: () => {} }))).toBe(0);
    let out = "";
    await run(["history"], { env: e, stdout: (s) => (out += s), stderr: () => {} });
    expect(out).toMatch(/^ {3}1 .* baseline \(existing document\)\n {3}2 .* set detector\.threshold\n$/);
    await run(["rollback", "1"], { env: e, stdout: () => {}, stderr: () => {} });
    expect((await kv.get(key)).value).toBe("detector:\n  windowSize: 8\n");
  });

  it("usage errors exit 2; Consul errors exit 1 with the reason", async () => {
    expect((await shoal("set", "only-a-path")).code).toBe(2);
    expect((await shoal("frobnicate")).code).toBe(2);
    expect((await shoal("rollback", "x")).code).toBe(2);
    const down = await run(["history"], { env: { ...env, SHOAL__CONSUL__URL: "http://127.0.0.1:1" }, stdout: () => {}, stderr: () => {} });
    expect(down).toBe(1);
    const noConsul = await run(["history"], { env: { SHOAL_ENV: "test" }, stdout: () => {}, stderr: (s) => expect(s).toContain("consul.url: required for this command") });
    expect(noConsul).toBe(1);
  });
});

describe("service registration", () => {
  it("registers with a TTL check kept passing, and deregisters on close", async () => {
    const reg = await registerService(consul.url, { name: "shoal-test", id: "shoal-test-n1", port: 4321, ttlMs: 1_500, tags: ["runtime", "test"] });
    const services = (await json("/v1/agent/services")) as Record<string, { Service: string; Port: number; Tags: string[] }>;
    expect(services["shoal-test-n1"]).toMatchObject({ Service: "shoal-test", Port: 4321, Tags: ["runtime", "test"] });
    // Longer than the TTL: the timer must have kept it passing.
    await sleep(2_500);
    const checks = (await json("/v1/health/checks/shoal-test")) as Array<{ CheckID: string; Status: string }>;
    expect(checks).toEqual([expect.objectContaining({ CheckID: "service:shoal-test-n1", Status: "passing" })]);
    await reg.close();
    await reg.close(); // idempotent
    expect(Object.keys((await json("/v1/agent/services")) as object)).not.toContain("shoal-test-n1");
  });

  it("registerRole names the instance after role and node, and is a no-op without Consul", async () => {
    const cfg = { env: "test", nodeId: "n7", consul: { url: consul.url, registerServices: true } };
    const reg = await registerRole(cfg, "runtime", { port: 50051 });
    const services = (await json("/v1/agent/services")) as Record<string, { Service: string; Tags: string[] }>;
    expect(services["shoal-runtime-n7"]).toMatchObject({ Service: "shoal-runtime", Tags: ["test", "runtime"] });
    await reg.close();
    expect(Object.keys((await json("/v1/agent/services")) as object)).not.toContain("shoal-runtime-n7");
    await (await registerRole({ ...cfg, consul: { registerServices: true } }, "bridge")).close();
    await (await registerRole({ ...cfg, consul: { url: consul.url, registerServices: false } }, "bridge")).close();
    expect(Object.keys((await json("/v1/agent/services")) as object)).not.toContain("shoal-bridge-n7");
  });

  it("fails with a ConsulError when Consul is unreachable", async () => {
    await expect(registerService("http://127.0.0.1:1", { name: "x", id: "x", ttlMs: 1000, tags: [] })).rejects.toBeInstanceOf(ConsulError);
  });
});
