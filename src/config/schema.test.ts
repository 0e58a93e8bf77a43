import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, configSchema, resolveConfig } from "./index.js";

// An empty config dir: the only input is the layer under test.
const dir = mkdtempSync(join(tmpdir(), "shoal-schema-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function messagesOf(doc: Record<string, unknown>): string[] {
  try {
    resolveConfig({ env: {}, configDir: dir, consulLayer: doc, consulSource: "consul:t" });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split("\n").slice(1).map((l) => l.trim());
  }
  throw new Error("expected a ConfigError");
}

const D = '(expected a number of ms or a string like "250ms", "2s", "5m", "1h", "7d")';
const S = '(expected a number of bytes or a string like "512B", "16KiB", "1MiB", "1GiB")';
const SRC = "(from consul:t)";

/** Every rule of the schema, with the exact message it produces. */
const cases: Array<[string, Record<string, unknown>, string[]]> = [
  ["enum", { log: { level: "verbose" } }, ['log.level: must be one of "trace", "debug", "info", "warn", "error", "fatal", "silent"']],
  ["section type", { log: "info" }, ["log: expected a mapping, got string"]],
  ["section array", { nats: [] }, ["nats: expected a mapping, got array"]],
  ["empty string", { nodeId: "" }, ["nodeId: must not be empty"]],
  ["string type", { nodeId: 5 }, ["nodeId: expected string, got number"]],
  ["nats url protocol", { nats: { url: "http://x" } }, ["nats.url: must be a URL with protocol nats:, tls:, ws: or wss:"]],
  ["nats url list", { nats: { url: "nats://a:1,bad" } }, ["nats.url: must be a URL with protocol nats:, tls:, ws: or wss:"]],
  ["stream name", { nats: { stream: "a.b" } }, ["nats.stream: must contain only letters, digits, _ and -"]],
  ["int min", { nats: { partitions: 0 } }, ["nats.partitions: must be >= 1"]],
  ["int max", { nats: { partitions: 1025 } }, ["nats.partitions: must be <= 1024"]],
  ["int fraction", { nats: { partitions: 1.5 } }, ["nats.partitions: must be an integer"]],
  ["int type", { nats: { partitions: "64" } }, ["nats.partitions: expected number, got string"]],
  ["literal set", { nats: { replicas: 2 } }, ["nats.replicas: must be one of 1, 3, 5"]],
  ["duration syntax", { nats: { duplicateWindow: "2x" } }, [`nats.duplicateWindow: invalid duration "2x" ${D}`]],
  ["duration type", { nats: { duplicateWindow: true } }, ["nats.duplicateWindow: expected a duration, got boolean"]],
  ["duration negative", { nats: { maxAge: -5 } }, [`nats.maxAge: invalid duration -5 ${D}`]],
  ["bucket name", { nats: { kvBucket: "a b" } }, ["nats.kvBucket: must contain only letters, digits, _ and -"]],
  ["output key is not an input key", { nats: { duplicateWindowMs: 5 } }, ['nats: unknown key "duplicateWindowMs"']],
  ["mqtt url", { mqtt: { url: "nats://x" } }, ["mqtt.url: must be a URL with protocol mqtt:, mqtts:, tcp:, ssl:, ws: or wss:"]],
  ["mqtt topic", { mqtt: { topic: "" } }, ["mqtt.topic: must not be empty"]],
  ["mqtt group", { mqtt: { sharedGroup: "" } }, ["mqtt.sharedGroup: must not be empty"]],
  ["mqtt connections max", { mqtt: { connections: 65 } }, ["mqtt.connections: must be <= 64"]],
  ["mqtt connections min", { mqtt: { connections: 0 } }, ["mqtt.connections: must be >= 1"]],
  ["mqtt username", { mqtt: { username: 1 } }, ["mqtt.username: expected string, got number"]],
  ["secret type (value not echoed)", { mqtt: { password: 12345 } }, ["mqtt.password: expected string, got number"]],
  ["size syntax", { bridge: { maxPayload: "16KB" } }, [`bridge.maxPayload: invalid size "16KB" ${S}`]],
  ["size type", { bridge: { maxPayload: [] } }, ["bridge.maxPayload: expected a size, got array"]],
  ["bridge positive ints", { bridge: { maxInFlight: 0, maxMetrics: 0, maxLogLength: 0 } }, ["bridge.maxInFlight: must be >= 1", "bridge.maxMetrics: must be >= 1", "bridge.maxLogLength: must be >= 1"]],
  ["duration with space", { bridge: { batchWindow: "5 ms" } }, [`bridge.batchWindow: invalid duration "5 ms" ${D}`]],
  ["journal message size", { bridge: { batchMaxBytes: "2MiB", batchMaxReadings: 0 } }, ["bridge.batchMaxReadings: must be >= 1", "bridge.batchMaxBytes: must be between 1KiB and 1MiB"]],
  ["workers", { runtime: { workers: -1 } }, ["runtime.workers: must be >= 0"]],
  ["young generation min", { runtime: { youngGenerationMb: -1 } }, ["runtime.youngGenerationMb: must be >= 0"]],
  ["young generation max", { runtime: { youngGenerationMb: 2048 } }, ["runtime.youngGenerationMb: must be <= 1024"]],
  ["young generation fraction", { runtime: { youngGenerationMb: 1.5 } }, ["runtime.youngGenerationMb: must be an integer"]],
  ["runtime host", { runtime: { host: "threads" } }, ['runtime.host: must be one of "workers", "inline"']],
  ["actor cache store", { actorCache: { store: "disk" } }, ['actorCache.store: must be one of "memory", "redis"']],
  ["actor cache limits", { actorCache: { maxEntriesPerActor: 0, ttl: "x" } }, [`actorCache.ttl: invalid duration "x" ${D}`, "actorCache.maxEntriesPerActor: must be >= 1"]],
  [
    "runtime positive ints",
    { runtime: { fetchBatch: 0, maxAckPending: 0, mailboxCapacity: 0, maxActiveActors: 0, snapshotEveryMessages: 0, maxAttempts: 0 } },
    ["fetchBatch", "maxAckPending", "mailboxCapacity", "maxActiveActors", "snapshotEveryMessages", "maxAttempts"].map((k) => `runtime.${k}: must be >= 1`),
  ],
  [
    "runtime durations",
    { runtime: { passivateAfter: "x", snapshotEvery: "x", heartbeatTimeout: "x" } },
    ["passivateAfter", "snapshotEvery", "heartbeatTimeout"].map((k) => `runtime.${k}: invalid duration "x" ${D}`),
  ],
  ["threshold max", { detector: { threshold: 1.5 } }, ["detector.threshold: must be <= 1"]],
  ["threshold min", { detector: { threshold: -0.1 } }, ["detector.threshold: must be >= 0"]],
  ["threshold type", { detector: { threshold: "high" } }, ["detector.threshold: expected number, got string"]],
  ["window", { detector: { windowSize: 0 } }, ["detector.windowSize: must be >= 1"]],
  ["params", { detector: { params: [] } }, ["detector.params: expected a mapping, got array"]],
  [
    "clickhouse",
    { clickhouse: { url: "tcp://x", database: "1x", username: "", password: 7, flushRows: 0, flushInterval: "1y" } },
    [
      "clickhouse.url: must be a URL with protocol http: or https:",
      "clickhouse.database: must be a SQL identifier",
      "clickhouse.username: must not be empty",
      "clickhouse.password: expected string, got number",
      "clickhouse.flushRows: must be >= 1",
      `clickhouse.flushInterval: invalid duration "1y" ${D}`,
    ],
  ],
  ["redis", { redis: { url: "http://x" } }, ["redis.url: must be a URL with protocol redis: or rediss:"]],
  [
    "consul",
    { consul: { url: "consul://x", prefix: "/a", token: 1, registerServices: "yes" } },
    [
      "consul.url: must be a URL with protocol http: or https:",
      "consul.prefix: must be KV path segments of letters, digits, _ and -",
      "consul.token: expected string, got number",
      "consul.registerServices: expected boolean, got string",
    ],
  ],
  [
    "cluster",
    { cluster: { enabled: "no", lockDelay: "2m", maxMoves: 0, readyLag: -1, leaveTimeout: "soon" } },
    [
      "cluster.enabled: expected boolean, got string",
      "cluster.lockDelay: must be between 0 and 60s",
      "cluster.maxMoves: must be >= 1",
      "cluster.readyLag: must be >= 0",
      `cluster.leaveTimeout: invalid duration "soon" ${D}`,
    ],
  ],
  ["cluster session TTL below Consul's minimum", { cluster: { sessionTtl: "5s" } }, ["cluster.sessionTtl: must be between 10s and 24h (Consul's session TTL range)"]],
  ["cluster session TTL above Consul's maximum", { cluster: { sessionTtl: "2d" } }, ["cluster.sessionTtl: must be between 10s and 24h (Consul's session TTL range)"]],
  ["cluster session TTL syntax", { cluster: { sessionTtl: true } }, ["cluster.sessionTtl: expected a duration, got boolean"]],
  ["cluster moves fraction", { cluster: { maxMoves: 2.5 } }, ["cluster.maxMoves: must be an integer"]],
  ["grpc", { grpc: { host: "", webPort: -1 } }, ["grpc.host: must not be empty", "grpc.webPort: must be >= 0"]],
  ["admin", { admin: { host: "", port: 65536 } }, ["admin.host: must not be empty", "admin.port: must be <= 65535"]],
  ["admin port min", { admin: { port: -1 } }, ["admin.port: must be >= 0"]],
  ["admin port fraction", { admin: { port: 50055.5 } }, ["admin.port: must be an integer"]],
  ["admin port type", { admin: { port: "50055" } }, ["admin.port: expected number, got string"]],
  ["admin unknown key", { admin: { prot: 1 } }, ['admin: unknown key "prot"']],
  ["unknown root key", { foo: 1 }, ['(root): unknown key "foo"']],
  ["unknown keys, one line each", { nats: { urll: "x", extra: { a: 1 } } }, ['nats: unknown key "urll"', 'nats: unknown key "extra"']],
  ["unknown nested key", { detector: { threshold: 0.5, thresold: 0.6 } }, ['detector: unknown key "thresold"']],
];

describe("validation messages", () => {
  it.each(cases)("%s", (_name, doc, expected) => {
    expect(messagesOf(doc)).toEqual(expected.map((m) => `${m} ${SRC}`));
  });

  it("ConfigError has the shared shape", () => {
    const err = (() => {
      try {
        resolveConfig({ env: {}, configDir: dir, consulLayer: { nats: { partitions: 0 } } });
      } catch (e) {
        return e as ConfigError;
      }
    })()!;
    expect(err.name).toBe("ConfigError");
    expect(err.code).toBe("config_invalid");
    expect(err.retryable).toBe(false);
    expect(err.message).toBe("invalid configuration:\n  nats.partitions: must be >= 1 (from consul:shoal/dev/config.yaml)");
    expect(err.issues).toEqual([{ path: "nats.partitions", rule: "must be >= 1", source: "consul:shoal/dev/config.yaml" }]);
  });

  it("lists every issue across layers, each with the layer that supplied it", () => {
    expect(() =>
      resolveConfig({
        env: { SHOAL__NATS__PARTITIONS: "0", SHOAL__NATS__URLL: "x" },
        configDir: dir,
        consulLayer: { detector: { threshold: 2 } },
      }),
    ).toThrow(
      [
        "invalid configuration:",
        "  nats.partitions: must be >= 1 (from env:SHOAL__NATS__PARTITIONS)",
        '  nats: unknown key "urll" (from env:SHOAL__NATS__URLL)',
        "  detector.threshold: must be <= 1 (from consul:shoal/dev/config.yaml)",
      ].join("\n"),
    );
  });
});

describe("cluster section", () => {
  it("parses durations once, in ms, from any layer", () => {
    const { config } = resolveConfig({
      env: { SHOAL__CLUSTER__SESSIONTTL: "30s", SHOAL__CLUSTER__ENABLED: "false" },
      configDir: dir,
      consulLayer: { cluster: { lockDelay: "250ms", maxMoves: 2, readyLag: 0, leaveTimeout: 5000 } },
    });
    expect(config.cluster).toEqual({ enabled: false, sessionTtlMs: 30_000, lockDelayMs: 250, maxMoves: 2, readyLag: 0, leaveTimeoutMs: 5000 });
  });

  it("accepts the bounds of Consul's session TTL range", () => {
    for (const [v, ms] of [["10s", 10_000], ["24h", 86_400_000]] as const) {
      expect(resolveConfig({ env: {}, configDir: dir, consulLayer: { cluster: { sessionTtl: v } } }).config.cluster.sessionTtlMs).toBe(ms);
    }
  });
});

describe("defaults", () => {
  it("an empty configuration resolves to the documented defaults", () => {
    const { config } = resolveConfig({ env: {}, configDir: dir });
    expect(config).toMatchObject({
      env: "dev",
      nodeId: "shoal-local",
      log: { level: "info" },
      nats: { url: "nats://127.0.0.1:14222", stream: "READINGS", partitions: 16, replicas: 1, duplicateWindowMs: 120_000, maxAgeMs: 604_800_000, kvBucket: "shoal_snapshots" },
      mqtt: { url: "mqtt://127.0.0.1:11883", topic: "devices/+/readings", sharedGroup: "shoal-bridge", connections: 4 },
      bridge: { maxPayloadBytes: 16384, maxInFlight: 20000, batchWindowMs: 0, batchMaxReadings: 1000, batchMaxBytes: 262144, maxPayloadReadings: 1000, maxMetrics: 64, maxLogLength: 2048 },
      runtime: {
        workers: 0,
        fetchBatch: 500,
        maxAckPending: 20000,
        mailboxCapacity: 256,
        maxActiveActors: 1_000_000,
        passivateAfterMs: 600_000,
        snapshotEveryMessages: 1000,
        snapshotEveryMs: 30_000,
        maxAttempts: 5,
        heartbeatTimeoutMs: 300_000,
      },
      detector: { threshold: 0.9, windowSize: 64, params: {} },
      clickhouse: { url: "http://127.0.0.1:18123", database: "shoal", username: "default", password: "", flushRows: 10000, flushIntervalMs: 100 },
      redis: {},
      consul: { prefix: "shoal", registerServices: true },
      cluster: { enabled: true, sessionTtlMs: 10_000, lockDelayMs: 1000, maxMoves: 8, readyLag: 1000, leaveTimeoutMs: 25_000 },
      grpc: { host: "127.0.0.1", webPort: 8080 },
      admin: { host: "127.0.0.1", port: 50055 },
    });
    expect(config.mqtt.password).toBeUndefined();
    expect(config.consul.url).toBeUndefined();
    expect(config.redis.url).toBeUndefined();
  });

  it("config/default.yaml says the same as the schema defaults", () => {
    const fromFile = resolveConfig({ env: {}, envName: "default" }).config;
    const fromSchema = configSchema.parse({ env: "default" });
    expect(fromFile).toEqual(fromSchema);
  });
});
