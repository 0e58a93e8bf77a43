import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, configVersion, resolveConfig } from "./index.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "shoal-resolve-"));
  writeFileSync(join(dir, "default.yaml"), "detector:\n  threshold: 0.5\n  windowSize: 10\nnats:\n  url: nats://default:1\n  duplicateWindow: 1m\nlog:\n  level: info\n");
  writeFileSync(join(dir, "dev.yaml"), "detector:\n  threshold: 0.6\nnats:\n  duplicateWindow: 3m\nconsul:\n  url: http://127.0.0.1:1\n");
  writeFileSync(join(dir, "prod.yaml"), "detector:\n  threshold: 0.7\n");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const resolve = (env: Record<string, string | undefined> = {}, extra: { consulLayer?: Record<string, unknown>; envName?: string } = {}) =>
  resolveConfig({ env, configDir: dir, ...extra });

describe("precedence: default.yaml < <env>.yaml < Consul < environment variables", () => {
  it("each layer overrides the one below, leaf by leaf, and records the source", () => {
    const r = resolve({ SHOAL__DETECTOR__THRESHOLD: "0.95" }, { consulLayer: { detector: { threshold: 0.8, windowSize: 20 } } });
    expect(r.config.detector.threshold).toBe(0.95);
    expect(r.sources.get("detector.threshold")).toBe("env:SHOAL__DETECTOR__THRESHOLD");
    expect(r.config.detector.windowSize).toBe(20);
    expect(r.sources.get("detector.windowSize")).toBe("consul:shoal/dev/config.yaml");
    expect(r.config.nats.duplicateWindowMs).toBe(180_000);
    expect(r.sources.get("nats.duplicateWindowMs")).toBe("dev.yaml");
    expect(r.config.nats.url).toBe("nats://default:1");
    expect(r.sources.get("nats.url")).toBe("default.yaml");
    expect(r.config.nats.partitions).toBe(16);
    expect(r.sources.get("nats.partitions")).toBe("schema");
  });

  it("without env vars Consul wins over files; without Consul the env overlay wins", () => {
    expect(resolve({}, { consulLayer: { detector: { threshold: 0.8 } } }).config.detector.threshold).toBe(0.8);
    expect(resolve({}).config.detector.threshold).toBe(0.6);
    expect(resolve({}).sources.get("detector.threshold")).toBe("dev.yaml");
  });

  it("SHOAL_ENV picks the overlay, the envName option beats SHOAL_ENV, and `env` follows", () => {
    const prod = resolve({ SHOAL_ENV: "prod" });
    expect(prod.config.detector.threshold).toBe(0.7);
    expect(prod.config.env).toBe("prod");
    expect(prod.sources.get("env")).toBe("env:SHOAL_ENV");
    expect(prod.config.consul.url).toBeUndefined();
    const arg = resolve({ SHOAL_ENV: "prod" }, { envName: "dev" });
    expect(arg.config.env).toBe("dev");
    expect(arg.sources.get("env")).toBe("argument");
    expect(resolve({}).sources.get("env")).toBe("schema");
  });

  it("an environment without an overlay file uses default.yaml alone", () => {
    expect(resolve({ SHOAL_ENV: "staging" }).config.detector.threshold).toBe(0.5);
  });

  it("a layer cannot claim to be another env", () => {
    expect(resolve({}, { consulLayer: { env: "prod" } }).config.env).toBe("dev");
  });

  it("rejects an env name that is not a plain word (it names a file)", () => {
    expect(() => resolve({ SHOAL_ENV: "../etc" })).toThrow("env: must be lowercase letters, digits, _ and - (from env:SHOAL_ENV)");
  });

  it("nodeId: HOSTNAME < files < SHOAL__NODE_ID", () => {
    expect(resolve({}).config.nodeId).toBe("shoal-local");
    const h = resolve({ HOSTNAME: "pod-7" });
    expect(h.config.nodeId).toBe("pod-7");
    expect(h.sources.get("nodeId")).toBe("env:HOSTNAME");
    expect(resolve({ HOSTNAME: "pod-7" }, { consulLayer: { nodeId: "x" } }).config.nodeId).toBe("x");
    expect(resolve({ HOSTNAME: "pod-7", SHOAL__NODE_ID: "0123" }).config.nodeId).toBe("0123");
  });
});

describe("environment variables", () => {
  it("match camelCase keys case-insensitively, with or without underscores", () => {
    const r = resolve({ SHOAL__RUNTIME__MAX_ACK_PENDING: "7", SHOAL__runtime__mailboxcapacity: "9", SHOAL__GRPC__WEBPORT: "81" });
    expect(r.config.runtime.maxAckPending).toBe(7);
    expect(r.config.runtime.mailboxCapacity).toBe(9);
    expect(r.config.grpc.webPort).toBe(81);
    expect(r.sources.get("runtime.maxAckPending")).toBe("env:SHOAL__RUNTIME__MAX_ACK_PENDING");
  });

  it("parse values as YAML scalars, durations and sizes included", () => {
    const r = resolve({ SHOAL__CONSUL__REGISTER_SERVICES: "false", SHOAL__NATS__MAX_AGE: "1h", SHOAL__BRIDGE__MAX_PAYLOAD: "1MiB", SHOAL__RUNTIME__WORKERS: "2" });
    expect(r.config.consul.registerServices).toBe(false);
    expect(r.config.nats.maxAgeMs).toBe(3_600_000);
    expect(r.sources.get("nats.maxAgeMs")).toBe("env:SHOAL__NATS__MAX_AGE");
    expect(r.config.bridge.maxPayloadBytes).toBe(1_048_576);
    expect(r.config.runtime.workers).toBe(2);
  });

  it("keep string fields and secrets verbatim", () => {
    const r = resolve({ SHOAL__MQTT__PASSWORD: "p@ss #1: yes", SHOAL__MQTT__USERNAME: "true", SHOAL__NATS__STREAM: "123" });
    expect(r.config.mqtt.password).toBe("p@ss #1: yes");
    expect(r.config.mqtt.username).toBe("true");
    expect(r.config.nats.stream).toBe("123");
  });

  it("an empty value unsets the key (the default applies again)", () => {
    const r = resolve({ SHOAL__CONSUL__URL: "" });
    expect(r.config.consul.url).toBeUndefined();
  });

  it("reach free-form maps (detector.params), camelCasing unknown segments", () => {
    const r = resolve({ SHOAL__DETECTOR__PARAMS__MIN_SAMPLES: "5", SHOAL__DETECTOR__PARAMS__MODE: "mad" });
    expect(r.config.detector.params).toEqual({ minSamples: 5, mode: "mad" });
    expect(r.sources.get("detector.params.minSamples")).toBe("env:SHOAL__DETECTOR__PARAMS__MIN_SAMPLES");
  });

  it("ignore variables that are not SHOAL__*", () => {
    expect(resolve({ SHOAL_NATS_URL: "nats://x:1", PATH: "/bin" }).config.nats.url).toBe("nats://default:1");
  });
});

describe("merging", () => {
  it("null in a later layer unsets a scalar; an empty section header does not wipe the section", () => {
    writeFileSync(join(dir, "dev.yaml"), "detector:\nnats:\n  url: ~\n");
    const r = resolve();
    expect(r.config.detector.threshold).toBe(0.5);
    expect(r.config.nats.url).toBe("nats://127.0.0.1:14222");
    expect(r.sources.get("nats.url")).toBe("schema");
  });

  it("arrays replace, mappings merge", () => {
    const r = resolve({}, { consulLayer: { detector: { params: { a: [1, 2], b: { c: 1 } } } } });
    const r2 = resolveConfig({ env: { SHOAL__DETECTOR__PARAMS__A: "[3]" }, configDir: dir, consulLayer: { detector: { params: { a: [1, 2], b: { c: 1 } } } } });
    expect(r.config.detector.params).toEqual({ a: [1, 2], b: { c: 1 } });
    expect(r2.config.detector.params).toEqual({ a: [3], b: { c: 1 } });
  });

  it("every leaf of the output has a source", () => {
    const r = resolve();
    for (const path of ["env", "nodeId", "log.level", "bridge.maxPayloadBytes", "runtime.heartbeatTimeoutMs", "clickhouse.flushIntervalMs", "grpc.webPort"]) {
      expect(r.sources.has(path), path).toBe(true);
    }
  });
});

describe("files", () => {
  it("report YAML syntax errors by line without quoting the file", () => {
    writeFileSync(join(dir, "dev.yaml"), "mqtt:\n  password: hunter2\n   bad: [\n");
    const err = (() => {
      try {
        resolve();
      } catch (e) {
        return e as ConfigError;
      }
    })()!;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/^invalid configuration:\n {2}\(root\): invalid YAML at line \d \([A-Z_]+\) \(from dev\.yaml\)/);
    expect(err.message).not.toContain("hunter2");
  });

  it("reject a document that is not a mapping", () => {
    writeFileSync(join(dir, "dev.yaml"), "- a\n- b\n");
    expect(() => resolve()).toThrow("(root): expected a mapping, got array (from dev.yaml)");
  });

  it("an empty file is an empty layer", () => {
    writeFileSync(join(dir, "dev.yaml"), "# nothing\n");
    expect(resolve().config.detector.threshold).toBe(0.5);
  });
});

describe("version", () => {
  it("is a content hash: equal configs, equal versions; any change, new version", () => {
    expect(resolve().version).toBe(resolve().version);
    expect(resolve().version).toMatch(/^[0-9a-f]{16}$/);
    expect(resolve({ SHOAL__DETECTOR__THRESHOLD: "0.61" }).version).not.toBe(resolve().version);
    expect(configVersion({ a: 1, b: 2 })).toBe(configVersion({ b: 2, a: 1 }));
  });

  it("does not depend on where a value came from", () => {
    expect(resolve({ SHOAL__DETECTOR__THRESHOLD: "0.6" }).version).toBe(resolve().version);
  });
});
