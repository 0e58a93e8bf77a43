/**
 * shoal.v1.ConfigService against a real Consul (started by the harness), called through a real
 * Connect transport (HTTP/1.1) on the web server the console uses, with the access check on: the
 * same Consul document and history as `shoal config`, validated writes, version conflicts,
 * redaction, and WatchConfig following changes.
 */
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccessCheck } from "../../src/access/index.js";
import { createConsulKv, type ConsulKv } from "../../src/adapters/consul/index.js";
import { run } from "../../src/cli/config.command.js";
import { encryptSecret, parseSecretKey } from "../../src/config/index.js";
import { createConfigService } from "../../src/config-service/index.js";
import { ConfigProblemSchema, ConfigService, type ConfigChange } from "../../src/gen/shoal/v1/config_pb.js";
import { startWebServer, type WebServer } from "../../src/grpc/web-server.js";
import { startConsul, type ServiceHandle } from "../harness/index.js";

const KEY = "shoal/test/config.yaml";
const SECRET_KEY = Buffer.alloc(32, 7).toString("base64");
const ADMIN = "adm1n-t0ken-for-tests";
const VIEWER = "v1ewer-t0ken-for-tests";

let consul: ServiceHandle;
let kv: ConsulKv;
let web: WebServer;
let env: Record<string, string>;
const listeners = new Set<() => void>();
/** What the process's config watcher would do after a change: notify every subscriber. */
const changed = () => {
  for (const l of [...listeners]) l();
};

const withToken = (token: string): Interceptor[] => [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))];
const clientOf = (token: string): Client<typeof ConfigService> => createClient(ConfigService, createConnectTransport({ baseUrl: web.url, httpVersion: "1.1", interceptors: withToken(token) }));
let admin: Client<typeof ConfigService>;
let viewer: Client<typeof ConfigService>;

const failure = async (p: Promise<unknown>): Promise<ConnectError> => {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(ConnectError);
  return e as ConnectError;
};
const rows = (changes: readonly ConfigChange[]) => changes.map((c) => [c.path, c.beforeJson, c.afterJson]);
const entryOf = async (path: string) => (await viewer.getConfig({})).config!.entries.find((e) => e.path === path);

async function cli(...argv: string[]): Promise<string> {
  let out = "";
  expect(await run(argv, { env, stdout: (s) => (out += s), stderr: () => {} })).toBe(0);
  return out;
}

beforeAll(async () => {
  consul = await startConsul();
  kv = createConsulKv({ url: consul.url });
  env = { SHOAL_ENV: "test", SHOAL__CONSUL__URL: consul.url, SHOAL_SECRET_KEY: SECRET_KEY, USER: "cli-user" };
  const impl = createConfigService({
    env,
    connectKv: createConsulKv,
    changes: (l) => (listeners.add(l), () => void listeners.delete(l)),
    onInternalError: (method, err) => console.error(method, err),
  });
  const access = createAccessCheck([
    { name: "ops-admin", role: "admin", token: ADMIN },
    { name: "watcher", role: "viewer", token: VIEWER },
  ]);
  web = await startWebServer([{ service: ConfigService, impl }], { host: "127.0.0.1", port: 0, policy: { timeoutMs: 10_000, maxConcurrentPerCaller: 16, maxStreamsPerCaller: 16, access } });
  admin = clientOf(ADMIN);
  viewer = clientOf(VIEWER);
});

afterAll(async () => {
  await web?.close();
  kv?.close();
  await consul?.cleanup();
});

describe("ConfigService over Connect against Consul", () => {
  it("GetConfig: every leaf with its value and layer, the document's version, writable", async () => {
    const cfg = (await viewer.getConfig({})).config!;
    expect(cfg).toMatchObject({ version: 0n, env: "test", writable: true });
    const by = new Map(cfg.entries.map((e) => [e.path, e]));
    expect(by.get("detector.threshold")).toMatchObject({ valueJson: "0.9", source: "file:default.yaml", secret: false });
    expect(by.get("log.level")).toMatchObject({ valueJson: '"silent"', source: "file:test.yaml" });
    expect(by.get("consul.url")).toMatchObject({ valueJson: JSON.stringify(consul.url), source: "env:SHOAL__CONSUL__URL" });
    expect(by.get("runtime.snapshotEveryMs")).toMatchObject({ valueJson: "30000", source: "file:default.yaml" });
    expect([...by.values()].filter((e) => e.source === "default").length).toBeGreaterThan(0);
  });

  it("a valid SetConfigKey writes the Consul document; GetConfig shows it from consul; the CLI sees the same history", async () => {
    const res = await admin.setConfigKey({ path: "detector.threshold", valueYaml: "0.95", message: "fewer alarms" });
    expect(res.version).toBe(1n);
    expect(rows(res.changes)).toEqual([["detector.threshold", "", "0.95"]]);
    expect((await kv.get(KEY)).value).toBe("detector:\n  threshold: 0.95\n");
    expect(await entryOf("detector.threshold")).toMatchObject({ valueJson: "0.95", source: "consul" });
    expect((await viewer.getConfig({})).config?.version).toBe(1n);
    // A key as GetConfig names it (resolved, with its unit) is written as the document's key.
    expect((await admin.setConfigKey({ path: "runtime.snapshotEveryMs", valueYaml: "45s", expectedVersion: 1n })).version).toBe(2n);
    expect(await entryOf("runtime.snapshotEveryMs")).toMatchObject({ valueJson: "45000", source: "consul" });
    expect(await cli("history")).toMatch(/^ {3}1 .* ops-admin +fewer alarms\n {3}2 .* ops-admin +set runtime\.snapshotEvery\n$/);
    expect(await cli("get", "detector.threshold")).toBe("0.95\n");
  });

  it("an invalid change is INVALID_ARGUMENT with the validator's messages and writes nothing", async () => {
    const before = await kv.get(KEY);
    const notNumber = await failure(admin.setConfigKey({ path: "detector.threshold", valueYaml: "abc" }));
    expect(notNumber.code).toBe(Code.InvalidArgument);
    expect(notNumber.rawMessage).toBe(`invalid configuration:\n  detector.threshold: expected number, got string (from consul:${KEY})`);
    expect(notNumber.findDetails(ConfigProblemSchema).map((p) => [p.path, p.message])).toEqual([["detector.threshold", `expected number, got string (from consul:${KEY})`]]);
    const outOfRange = await failure(admin.setConfigKey({ path: "detector.threshold", valueYaml: "1.5" }));
    expect(outOfRange.rawMessage).toBe(`invalid configuration:\n  detector.threshold: must be <= 1 (from consul:${KEY})`);
    expect((await kv.get(KEY)).modifyIndex).toBe(before.modifyIndex);
    expect((await viewer.listConfigHistory({})).versions).toHaveLength(2);
  });

  it("ValidateConfigChange is a dry run: problems or changes, nothing written", async () => {
    const before = await kv.get(KEY);
    const bad = await viewer.validateConfigChange({ path: "nats.maxAge", valueYaml: "forever" });
    expect(bad.valid).toBe(false);
    expect(bad.problems.map((p) => [p.path, p.message])).toEqual([
      ["nats.maxAge", `invalid duration "forever" (expected a number of ms or a string like "250ms", "2s", "5m", "1h", "7d") (from consul:${KEY})`],
    ]);
    const good = await viewer.validateConfigChange({ path: "detector.threshold", valueYaml: "0.8" });
    expect(good).toMatchObject({ valid: true, problems: [] });
    expect(rows(good.changes)).toEqual([["detector.threshold", "0.95", "0.8"]]);
    expect((await kv.get(KEY)).modifyIndex).toBe(before.modifyIndex);
    expect((await failure(viewer.setConfigKey({ path: "detector.threshold", valueYaml: "0.8" }))).code).toBe(Code.PermissionDenied);
  });

  it("history newest first; diff of the last change and between versions; rollback writes a version back, validated first", async () => {
    const versions = (await viewer.listConfigHistory({})).versions;
    expect(versions.map((v) => [v.version, v.author, v.message])).toEqual([
      [2n, "ops-admin", "set runtime.snapshotEvery"],
      [1n, "ops-admin", "fewer alarms"],
    ]);
    expect(Math.abs(Number(versions[0]!.atMs) - Date.now())).toBeLessThan(60_000);
    expect(rows((await viewer.diffConfig({})).changes)).toEqual([["runtime.snapshotEvery", "", '"45s"']]);
    expect(rows((await viewer.diffConfig({ fromVersion: 2n, toVersion: 1n })).changes)).toEqual([["runtime.snapshotEvery", '"45s"', ""]]);
    expect((await failure(viewer.diffConfig({ fromVersion: 42n }))).code).toBe(Code.NotFound);
    const back = await admin.rollbackConfig({ version: 1n, message: "undo the snapshot change" });
    expect(back.version).toBe(3n);
    expect(rows(back.changes)).toEqual([["runtime.snapshotEvery", '"45s"', ""]]);
    expect((await kv.get(KEY)).value).toBe("detector:\n  threshold: 0.95\n");
    expect((await viewer.listConfigHistory({})).versions[0]).toMatchObject({ version: 3n, author: "ops-admin", message: "undo the snapshot change" });
    expect(await cli("diff", "2", "3")).toBe('--- version 2\n+++ version 3\n- runtime.snapshotEvery: "45s"\n');
    expect((await failure(admin.rollbackConfig({ version: 99n }))).code).toBe(Code.NotFound);
  });

  it("expected_version: ABORTED when the document moved on (here: a CLI write in between)", async () => {
    const seen = (await viewer.getConfig({})).config!.version;
    await cli("set", "detector.windowSize", "32");
    const stale = await failure(admin.setConfigKey({ path: "detector.threshold", valueYaml: "0.7", expectedVersion: seen }));
    expect([stale.code, stale.rawMessage]).toEqual([Code.Aborted, `${KEY} is at version ${seen + 1n}, not ${seen}: re-read and retry`]);
    expect((await kv.get(KEY)).value).toBe("detector:\n  threshold: 0.95\n  windowSize: 32\n");
    expect((await admin.setConfigKey({ path: "detector.threshold", valueYaml: "0.7", expectedVersion: seen + 1n })).version).toBe(seen + 2n);
  });

  it("secrets are redacted in every answer and error", async () => {
    const enc = encryptSecret("pa55-w0rd", parseSecretKey(SECRET_KEY));
    const answers: unknown[] = [];
    answers.push(await admin.setConfigKey({ path: "mqtt.password", valueYaml: enc }));
    answers.push(await admin.setConfigKey({ path: "clickhouse.password", valueYaml: "plain-s3cret" }));
    answers.push(await admin.setConfigKey({ path: "clickhouse.password", valueYaml: "other-s3cret" }));
    answers.push(await viewer.getConfig({}), await viewer.diffConfig({}), await viewer.diffConfig({ fromVersion: 1n }), await viewer.listConfigHistory({}));
    answers.push(await viewer.validateConfigChange({ path: "clickhouse.password", valueYaml: "next-s3cret" }));
    answers.push((await failure(admin.setConfigKey({ path: "mqtt.password", valueYaml: "enc:bm90LWEtdmFsaWQtczNjcmV0" }))).message);
    const text = JSON.stringify(answers, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
    for (const secret of ["pa55-w0rd", "s3cret", enc.slice(4), "bm90LWEtdmFsaWQtczNjcmV0"]) expect(text).not.toContain(secret);
    expect(rows((await viewer.diffConfig({})).changes)).toEqual([["clickhouse.password", '"[redacted]"', '"[redacted]"']]);
    expect(await entryOf("mqtt.password")).toMatchObject({ valueJson: '"[redacted]"', source: "consul", secret: true });
    expect(await entryOf("clickhouse.password")).toMatchObject({ valueJson: '"[redacted]"', source: "consul", secret: true });
  });

  it("WatchConfig sends the effective configuration at once and again after every change", async () => {
    const abort = new AbortController();
    const stream = viewer.watchConfig({}, { signal: abort.signal })[Symbol.asyncIterator]();
    const next = async () => {
      const r = await stream.next();
      if (r.done === true) throw new Error("WatchConfig ended");
      return r.value.config!;
    };
    const first = await next();
    expect(listeners.size).toBe(1);
    const res = await admin.setConfigKey({ path: "detector.threshold", valueYaml: "0.42", expectedVersion: first.version });
    changed();
    const second = await next();
    expect(second.version).toBe(res.version);
    expect(second.entries.find((e) => e.path === "detector.threshold")).toMatchObject({ valueJson: "0.42", source: "consul" });
    await admin.setConfigKey({ path: "detector.threshold", valueYaml: "null" });
    changed();
    expect((await next()).entries.find((e) => e.path === "detector.threshold")).toMatchObject({ valueJson: "0.9", source: "file:default.yaml" });
    abort.abort();
    await expect(stream.next()).rejects.toMatchObject({ code: Code.Canceled });
    await expect.poll(() => listeners.size).toBe(0);
  });
});
