import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CALLER } from "../access/index.js";
import { ShoalError } from "../base/errors.js";
import { ConfigProblemSchema, ConfigService } from "../gen/shoal/v1/config_pb.js";
import { createConfigService } from "./config-service.js";
import type { ConfigServiceDeps } from "./config-service.js";
import { MemoryKv } from "./testing.js";

/** Logic of the config service over an in-memory KV (against a real Consul: test/integration/config-service.test.ts). */
const KEY = "shoal/test/config.yaml";
let dir: string;
let kv: MemoryKv;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "shoal-config-service-"));
  writeFileSync(join(dir, "default.yaml"), "log:\n  level: info\ndetector:\n  threshold: 0.9\n");
  writeFileSync(join(dir, "test.yaml"), "log:\n  level: silent\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  kv = new MemoryKv();
});
afterEach(() => expect(kv.open).toBe(0));

function client(opts: { consul?: boolean; caller?: string; deps?: Partial<ConfigServiceDeps> } = {}): Client<typeof ConfigService> {
  const env = { SHOAL_ENV: "test", ...(opts.consul === false ? {} : { SHOAL__CONSUL__URL: "http://consul.test:8500" }) };
  const impl = createConfigService({ env, configDir: dir, connectKv: kv.connect, ...opts.deps });
  const caller = opts.caller;
  const transport = createRouterTransport((r) => r.service(ConfigService, impl), {
    router: { interceptors: caller === undefined ? [] : [(next) => (req) => (req.contextValues.set(CALLER, { name: caller, role: "admin" }), next(req))] },
  });
  return createClient(ConfigService, transport);
}

const failure = async (p: Promise<unknown>): Promise<ConnectError> => {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(ConnectError);
  return e as ConnectError;
};
const entry = async (c: Client<typeof ConfigService>, path: string) => (await c.getConfig({})).config!.entries.find((e) => e.path === path);

describe("ConfigService", () => {
  it("GetConfig: every leaf with its JSON value and layer; read-only without Consul", async () => {
    const cfg = (await client({ consul: false }).getConfig({})).config!;
    expect(cfg).toMatchObject({ version: 0n, env: "test", writable: false });
    const by = new Map(cfg.entries.map((e) => [e.path, e]));
    expect(by.get("detector.threshold")).toMatchObject({ valueJson: "0.9", source: "file:default.yaml", secret: false });
    expect(by.get("log.level")).toMatchObject({ valueJson: '"silent"', source: "file:test.yaml" });
    expect(by.get("detector.windowSize")).toMatchObject({ valueJson: "64", source: "default" });
    expect(by.get("runtime.snapshotEveryMs")).toMatchObject({ valueJson: "30000", source: "default" });
    expect(by.get("env")).toMatchObject({ valueJson: '"test"', source: "env:SHOAL_ENV" });
    expect(by.get("clickhouse.password")).toMatchObject({ secret: true });
    expect((await client().getConfig({})).config).toMatchObject({ version: 0n, writable: true });
    expect(kv.lastUrl).toBe("http://consul.test:8500");
  });

  it("SetConfigKey validates, writes the Consul document with history and answers the new version and changes", async () => {
    const c = client({ caller: "alice" });
    const res = await c.setConfigKey({ path: "detector.threshold", valueYaml: "0.95", message: "calmer" });
    expect(res.version).toBe(1n);
    expect(res.changes.map((x) => ({ ...x }))).toEqual([expect.objectContaining({ path: "detector.threshold", beforeJson: "", afterJson: "0.95" })]);
    expect(kv.read(KEY).value).toBe("detector:\n  threshold: 0.95\n");
    expect(await entry(c, "detector.threshold")).toMatchObject({ valueJson: "0.95", source: "consul" });
    // A resolved path (as GetConfig shows it) writes the key of the document.
    await c.setConfigKey({ path: "runtime.snapshotEveryMs", valueYaml: "45s" });
    expect(kv.read(KEY).value).toBe("detector:\n  threshold: 0.95\nruntime:\n  snapshotEvery: 45s\n");
    expect((await c.getConfig({})).config?.version).toBe(2n);
    const history = (await c.listConfigHistory({})).versions;
    expect(history.map((h) => [h.version, h.author, h.message])).toEqual([
      [2n, "alice", "set runtime.snapshotEvery"],
      [1n, "alice", "calmer"],
    ]);
    expect(Math.abs(Number(history[0]!.atMs) - Date.now())).toBeLessThan(10_000);
    await client().setConfigKey({ path: "detector.threshold", valueYaml: "null" });
    expect(kv.read(KEY).value).toBe("runtime:\n  snapshotEvery: 45s\n");
    expect((await c.listConfigHistory({})).versions[0]).toMatchObject({ author: "console", message: "set detector.threshold" });
  });

  it("an invalid change is INVALID_ARGUMENT with the validator's messages and writes nothing; ValidateConfigChange is its dry run", async () => {
    const c = client();
    const err = await failure(c.setConfigKey({ path: "detector.threshold", valueYaml: "1.5" }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe(`invalid configuration:\n  detector.threshold: must be <= 1 (from consul:${KEY})`);
    expect(err.findDetails(ConfigProblemSchema).map((p) => [p.path, p.message])).toEqual([["detector.threshold", `must be <= 1 (from consul:${KEY})`]]);
    expect((await failure(c.setConfigKey({ path: "detector.threshold", valueYaml: "abc" }))).rawMessage).toContain("detector.threshold: expected number, got string");
    expect(kv.read(KEY).value).toBeUndefined();

    const dry = await c.validateConfigChange({ path: "detector.thresold", valueYaml: "0.5" });
    expect(dry.valid).toBe(false);
    expect(dry.problems.map((p) => [p.path, p.message])).toEqual([["detector", `unknown key "thresold" (from consul:${KEY})`]]);
    const ok = await c.validateConfigChange({ path: "detector.threshold", valueYaml: "0.8" });
    expect(ok).toMatchObject({ valid: true, problems: [] });
    expect(ok.changes.map((x) => [x.path, x.beforeJson, x.afterJson])).toEqual([["detector.threshold", "", "0.8"]]);
    expect(kv.read(KEY).value).toBeUndefined();
    expect((await c.listConfigHistory({})).versions).toEqual([]);
  });

  it("bad requests are INVALID_ARGUMENT naming the field", async () => {
    const c = client();
    for (const [req, message] of [
      [{ path: "", valueYaml: "1" }, "path: required (a dotted key such as detector.threshold)"],
      [{ path: "a..b", valueYaml: "1" }, 'path: invalid path "a..b": dotted keys such as detector.threshold'],
      [{ path: "__proto__.x", valueYaml: "1" }, 'path: invalid path "__proto__.x": dotted keys such as detector.threshold'],
      [{ path: "detector.threshold", valueYaml: " " }, 'value_yaml: required (YAML; "null" removes the key)'],
      [{ path: "detector.threshold", valueYaml: "1", message: "x".repeat(501) }, "message: at most 500 characters"],
    ] as const) {
      const e = await failure(c.setConfigKey(req));
      expect([e.code, e.rawMessage]).toEqual([Code.InvalidArgument, message]);
    }
    expect((await failure(c.diffConfig({ toVersion: 2n }))).rawMessage).toBe("from_version: required (a version from ListConfigHistory)");
    expect((await failure(c.rollbackConfig({}))).rawMessage).toBe("version: required (a version from ListConfigHistory)");
  });

  it("expected_version: ABORTED when the document moved on; a lost check-and-set is ABORTED too", async () => {
    const c = client();
    await c.setConfigKey({ path: "detector.threshold", valueYaml: "0.5" });
    const stale = await failure(c.setConfigKey({ path: "detector.threshold", valueYaml: "0.6", expectedVersion: 7n }));
    expect([stale.code, stale.rawMessage]).toEqual([Code.Aborted, `${KEY} is at version 1, not 7: re-read and retry`]);
    expect((await c.setConfigKey({ path: "detector.threshold", valueYaml: "0.6", expectedVersion: 1n })).version).toBe(2n);
    const write = kv.write.bind(kv);
    kv.write = (w) => (kv.write = write, kv.write([{ key: KEY, value: "detector:\n  threshold: 0.1\n" }]), write(w));
    const lost = await failure(c.setConfigKey({ path: "detector.threshold", valueYaml: "0.7" }));
    expect([lost.code, lost.rawMessage]).toEqual([Code.Aborted, `${KEY} changed while it was being edited: retry`]);
  });

  it("DiffConfig and RollbackConfig work on history versions, validated first; unknown versions are NOT_FOUND", async () => {
    const c = client();
    expect((await c.diffConfig({})).changes).toEqual([]);
    await c.setConfigKey({ path: "detector.threshold", valueYaml: "0.5" });
    await c.setConfigKey({ path: "detector.windowSize", valueYaml: "8" });
    const rows = async (p: Promise<{ changes: Array<{ path: string; beforeJson: string; afterJson: string }> }>) => (await p).changes.map((x) => [x.path, x.beforeJson, x.afterJson]);
    expect(await rows(c.diffConfig({}))).toEqual([["detector.windowSize", "", "8"]]);
    expect(await rows(c.diffConfig({ fromVersion: 1n }))).toEqual([["detector.windowSize", "", "8"]]);
    expect(await rows(c.diffConfig({ fromVersion: 2n, toVersion: 1n }))).toEqual([["detector.windowSize", "8", ""]]);
    expect((await failure(c.diffConfig({ fromVersion: 9n }))).code).toBe(Code.NotFound);

    const back = await c.rollbackConfig({ version: 1n });
    expect(back.version).toBe(3n);
    expect(back.changes.map((x) => x.path)).toEqual(["detector.windowSize"]);
    expect(kv.read(KEY).value).toBe("detector:\n  threshold: 0.5\n");
    expect((await c.listConfigHistory({})).versions[0]).toMatchObject({ version: 3n, message: "rollback to 1" });
    const missing = await failure(c.rollbackConfig({ version: 99n }));
    expect([missing.code, missing.rawMessage]).toEqual([Code.NotFound, `${KEY}: no history version 99`]);

    // A hand-written document kept as baseline that is not valid: rolling back to it is refused.
    const other = new MemoryKv();
    other.write([{ key: KEY, value: "detector:\n  threshold: 7\n" }]);
    kv = other;
    const c2 = client();
    await expect(c2.rollbackConfig({ version: 1n })).rejects.toMatchObject({ code: Code.NotFound });
    await c2.setConfigKey({ path: "detector.threshold", valueYaml: "0.4" });
    const refused = await failure(c2.rollbackConfig({ version: 1n }));
    expect([refused.code, refused.rawMessage]).toEqual([Code.InvalidArgument, `invalid configuration:\n  detector.threshold: must be <= 1 (from consul:${KEY})`]);
    expect(other.read(KEY).value).toBe("detector:\n  threshold: 0.4\n");
  });

  it("secrets never appear in an answer", async () => {
    const c = client();
    const set = await c.setConfigKey({ path: "clickhouse.password", valueYaml: "pl41n-s3cret" });
    await c.setConfigKey({ path: "clickhouse.password", valueYaml: "0th3r-s3cret" });
    const answers = [
      set,
      await c.getConfig({}),
      await c.validateConfigChange({ path: "clickhouse.password", valueYaml: "n3w-s3cret" }),
      await c.diffConfig({}),
      await c.diffConfig({ fromVersion: 1n }),
      await c.listConfigHistory({}),
    ];
    const text = JSON.stringify(answers, (_k, x: unknown) => (typeof x === "bigint" ? String(x) : x));
    expect(text).not.toMatch(/s3cret/);
    expect((await c.diffConfig({})).changes.map((x) => ({ ...x }))).toEqual([expect.objectContaining({ path: "clickhouse.password", beforeJson: '"[redacted]"', afterJson: '"[redacted]"' })]);
    expect(await entry(c, "clickhouse.password")).toMatchObject({ valueJson: '"[redacted]"', source: "consul", secret: true });
  });

  it("no Consul: writes are FAILED_PRECONDITION, the history is empty; Consul down: UNAVAILABLE", async () => {
    const c = client({ consul: false });
    for (const call of [c.setConfigKey({ path: "detector.threshold", valueYaml: "0.5" }), c.validateConfigChange({ path: "detector.threshold", valueYaml: "0.5" }), c.diffConfig({}), c.rollbackConfig({ version: 1n })]) {
      const e = await failure(call);
      expect([e.code, e.rawMessage]).toEqual([Code.FailedPrecondition, "no Consul is configured (consul.url): the configuration is read-only here"]);
    }
    expect((await c.listConfigHistory({})).versions).toEqual([]);
    kv.failWith = new ShoalError("kv get shoal/test/config.yaml: connect ECONNREFUSED", { code: "unavailable", retryable: true });
    expect((await failure(client().getConfig({}))).code).toBe(Code.Unavailable);
    expect((await failure(client().setConfigKey({ path: "detector.threshold", valueYaml: "0.5" }))).code).toBe(Code.Unavailable);
  });

  it("WatchConfig answers at once and again after every change, and unsubscribes when the call ends", async () => {
    const listeners = new Set<() => void>();
    const changes = (l: () => void) => (listeners.add(l), () => void listeners.delete(l));
    const c = client({ deps: { changes } });
    const abort = new AbortController();
    const stream = c.watchConfig({}, { signal: abort.signal })[Symbol.asyncIterator]();
    const nextConfig = async () => {
      const r = await stream.next();
      if (r.done === true) throw new Error("WatchConfig ended");
      return r.value.config!;
    };
    expect((await nextConfig()).version).toBe(0n);
    expect(listeners.size).toBe(1);
    await c.setConfigKey({ path: "detector.threshold", valueYaml: "0.3" });
    for (const l of listeners) l();
    const next = await nextConfig();
    expect(next.version).toBe(1n);
    expect(next.entries.find((e) => e.path === "detector.threshold")).toMatchObject({ valueJson: "0.3", source: "consul" });
    abort.abort();
    await expect(stream.next()).rejects.toMatchObject({ code: Code.Canceled });
    await expect.poll(() => listeners.size).toBe(0);
  });
});
