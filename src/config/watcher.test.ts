import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConsulError } from "../adapters/consul/index.js";
import type { ConsulKv, KvRead } from "../adapters/consul/index.js";
import { createConfigWatcher, loadConfig } from "./index.js";
import type { ConfigLogger, ConfigWatcher, ResolvedConfig } from "./index.js";
import { sleep } from "../base/clock.js";

/** In-memory Consul KV with blocking-query semantics (unit tests only). */
class FakeKv implements ConsulKv {
  value: string | undefined;
  index = 10;
  failures = 0;
  gets = 0;
  private wakers = new Set<() => void>();

  put(value: string | undefined) {
    this.value = value;
    this.index++;
    for (const w of this.wakers) w();
  }

  async get(_key: string, opts: { index?: number; waitMs?: number; signal?: AbortSignal } = {}): Promise<KvRead> {
    this.gets++;
    if (this.failures > 0) {
      this.failures--;
      throw new ConsulError("kv get: connect ECONNREFUSED", { reason: "unavailable" });
    }
    if (opts.index !== undefined && opts.index >= this.index) {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(t);
          this.wakers.delete(done);
          opts.signal?.removeEventListener("abort", abort);
          resolve();
        };
        const abort = () => {
          done();
          reject(new ConsulError("aborted", { reason: "aborted" }));
        };
        const t = setTimeout(done, opts.waitMs ?? 30_000);
        this.wakers.add(done);
        opts.signal?.addEventListener("abort", abort, { once: true });
      });
    }
    return { value: this.value, modifyIndex: this.value === undefined ? 0 : this.index, index: this.index };
  }
  async keys() {
    return [];
  }
  async write() {}
  async del() {}
  close() {}
}

class MemoryLogger implements ConfigLogger {
  lines: Array<{ level: string; fields: object; msg: string }> = [];
  info(fields: object, msg: string) {
    this.lines.push({ level: "info", fields, msg });
  }
  warn(fields: object, msg: string) {
    this.lines.push({ level: "warn", fields, msg });
  }
  error(fields: object, msg: string) {
    this.lines.push({ level: "error", fields, msg });
  }
  text() {
    return JSON.stringify(this.lines);
  }
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not reached");
    await sleep(10);
  }
}

let dir: string;
let watcher: ConfigWatcher | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "shoal-watch-"));
  writeFileSync(join(dir, "default.yaml"), "detector:\n  threshold: 0.9\n");
});
afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const consulEnv = { SHOAL__CONSUL__URL: "http://127.0.0.1:1" };

describe("Consul watch", () => {
  it("applies a valid change: new version, listeners get (next, prev), counted in the injected registry", async () => {
    const kv = new FakeKv();
    kv.value = "detector:\n  threshold: 0.8\n";
    const registry = new Registry();
    watcher = await createConfigWatcher({ env: consulEnv, configDir: dir, consul: kv, registry });
    expect(watcher.current().config.detector.threshold).toBe(0.8);
    expect(watcher.current().sources.get("detector.threshold")).toBe("consul:shoal/dev/config.yaml");
    const seen: Array<[ResolvedConfig, ResolvedConfig]> = [];
    watcher.subscribe((next, prev) => seen.push([next, prev]));
    kv.put("detector:\n  threshold: 0.95\n");
    await until(() => seen.length === 1);
    expect(seen[0]![0].config.detector.threshold).toBe(0.95);
    expect(seen[0]![1].config.detector.threshold).toBe(0.8);
    expect(seen[0]![0].version).not.toBe(seen[0]![1].version);
    expect(watcher.current()).toBe(seen[0]![0]);
    expect(watcher.stats()).toEqual({ applied: 1, rejected: 0, consulErrors: 0 });
    const metrics = await registry.metrics();
    expect(metrics).toContain("shoal_config_applied_total 1");
    expect(metrics).toContain(`shoal_config_info{version="${seen[0]![0].version}"} 1`);
  });

  it("a write that does not change the resolved config notifies nobody", async () => {
    const kv = new FakeKv();
    kv.value = "detector:\n  threshold: 0.8\n";
    watcher = await createConfigWatcher({ env: consulEnv, configDir: dir, consul: kv });
    let calls = 0;
    watcher.subscribe(() => calls++);
    kv.put("# same values\ndetector: {threshold: 0.8}\n");
    await until(() => kv.gets >= 3);
    expect(calls).toBe(0);
    expect(watcher.stats().applied).toBe(0);
  });

  it("rejects an invalid change with the reason, counts it once, keeps the last good config", async () => {
    const kv = new FakeKv();
    kv.value = "detector:\n  threshold: 0.8\n";
    const log = new MemoryLogger();
    const registry = new Registry();
    watcher = await createConfigWatcher({ env: consulEnv, configDir: dir, consul: kv, logger: log, registry });
    const good = watcher.current();
    let calls = 0;
    watcher.subscribe(() => calls++);
    kv.put("detector:\n  threshold: 1.5\n  bogus: 1\n");
    await until(() => watcher!.stats().rejected === 1);
    kv.put("detector:\n  threshold: 1.5\n  bogus: 1\n"); // same bad document again: not counted twice
    await until(() => kv.gets >= 4);
    expect(watcher.stats().rejected).toBe(1);
    expect(watcher.current()).toBe(good);
    expect(calls).toBe(0);
    const warn = log.lines.find((l) => l.level === "warn")!;
    expect(warn.msg).toBe("configuration change rejected; keeping the last good configuration");
    expect(warn.fields).toMatchObject({
      issues: [
        "detector.threshold: must be <= 1 (from consul:shoal/dev/config.yaml)",
        'detector: unknown key "bogus" (from consul:shoal/dev/config.yaml)',
      ],
      version: good.version,
    });
    expect(await registry.metrics()).toContain("shoal_config_rejected_total 1");
    // Broken YAML is rejected the same way.
    kv.put("detector: [\n");
    await until(() => watcher!.stats().rejected === 2);
    kv.put("detector:\n  threshold: 0.7\n");
    await until(() => calls === 1);
    expect(watcher.current().config.detector.threshold).toBe(0.7);
  });

  it("keeps running on the last good config while Consul fails, backs off, and resumes", async () => {
    const kv = new FakeKv();
    kv.value = "detector:\n  threshold: 0.8\n";
    const log = new MemoryLogger();
    watcher = await createConfigWatcher({ env: consulEnv, configDir: dir, consul: kv, logger: log, backoff: { initialMs: 5, maxMs: 20 }, waitMs: 200 });
    await until(() => kv.gets >= 1);
    kv.failures = 6;
    kv.put("detector:\n  threshold: 0.6\n"); // wakes the pending query; the next ones fail
    await until(() => watcher!.current().config.detector.threshold === 0.6);
    await until(() => watcher!.stats().consulErrors === 6);
    expect(watcher.current().config.detector.threshold).toBe(0.6);
    kv.put("detector:\n  threshold: 0.5\n");
    await until(() => watcher!.current().config.detector.threshold === 0.5);
    expect(log.lines.some((l) => l.msg === "consul configuration watch resumed")).toBe(true);
    expect(log.lines.filter((l) => l.msg.startsWith("consul configuration watch failed"))).toHaveLength(6);
  });

  it("starts on files + env when Consul is down at start, then converges", async () => {
    const kv = new FakeKv();
    kv.value = "detector:\n  threshold: 0.4\n";
    kv.failures = 1;
    const log = new MemoryLogger();
    const initial = await loadConfig({ env: consulEnv, configDir: dir, consul: kv, logger: log });
    expect(initial.config.detector.threshold).toBe(0.9);
    expect(log.lines[0]!.msg).toBe("consul unreachable at start: using files and environment only");
    await expect(loadConfig({ env: consulEnv, configDir: dir, consul: Object.assign(new FakeKv(), { failures: 1 }), requireConsul: true })).rejects.toThrow(
      "kv get: connect ECONNREFUSED",
    );
    watcher = await createConfigWatcher({ env: consulEnv, configDir: dir, consul: kv, initial });
    await until(() => watcher!.current().config.detector.threshold === 0.4);
    expect(watcher.stats().applied).toBe(1);
  });

  it("a Consul that refuses the read (ACL token missing) stops the start, naming consul.token, instead of starting on defaults", async () => {
    const kv = new FakeKv();
    kv.get = () => Promise.reject(new ConsulError("kv get shoal/test/config.yaml: HTTP 403 (Permission denied)", { reason: "rejected", status: 403 }));
    const log = new MemoryLogger();
    await expect(loadConfig({ env: consulEnv, configDir: dir, consul: kv, logger: log })).rejects.toThrow(/refused to read .*consul\.token.*HTTP 403/);
    expect(log.lines).toEqual([]);
  });

  it("a throwing listener does not stop the others", async () => {
    const kv = new FakeKv();
    const log = new MemoryLogger();
    watcher = await createConfigWatcher({ env: consulEnv, configDir: dir, consul: kv, logger: log });
    let second = 0;
    watcher.subscribe(() => {
      throw new Error("boom");
    });
    const off = watcher.subscribe(() => second++);
    kv.put("detector:\n  threshold: 0.3\n");
    await until(() => second === 1);
    off();
    kv.put("detector:\n  threshold: 0.2\n");
    await until(() => watcher!.current().config.detector.threshold === 0.2);
    expect(second).toBe(1);
    expect(log.lines.some((l) => l.level === "error" && l.msg === "configuration listener failed")).toBe(true);
  });

  it("logs changed paths, never values (secrets included)", async () => {
    const kv = new FakeKv();
    const log = new MemoryLogger();
    watcher = await createConfigWatcher({ env: consulEnv, configDir: dir, consul: kv, logger: log });
    kv.put("mqtt:\n  password: s3cr3t-value\n");
    await until(() => watcher!.stats().applied === 1);
    kv.put("mqtt:\n  password: 42\n  extra: s3cr3t-value\n");
    await until(() => watcher!.stats().rejected === 1);
    expect(log.lines.find((l) => l.msg === "configuration applied")!.fields).toMatchObject({ changed: ["mqtt.password"] });
    expect(log.text()).not.toContain("s3cr3t-value");
  });

  it("close() ends the blocking query promptly", async () => {
    const kv = new FakeKv();
    watcher = await createConfigWatcher({ env: consulEnv, configDir: dir, consul: kv, waitMs: 60_000 });
    await until(() => kv.gets >= 2);
    const t0 = Date.now();
    await watcher.close();
    expect(Date.now() - t0).toBeLessThan(500);
  });
});

describe("file watch (no Consul configured)", () => {
  it("applies a valid file change and rejects an invalid one", async () => {
    const log = new MemoryLogger();
    watcher = await createConfigWatcher({ env: {}, configDir: dir, logger: log, fileDebounceMs: 20 });
    const seen: number[] = [];
    watcher.subscribe((next) => seen.push(next.config.detector.threshold));
    writeFileSync(join(dir, "dev.yaml"), "detector:\n  threshold: 0.75\n");
    await until(() => seen.length === 1);
    expect(seen).toEqual([0.75]);
    expect(watcher.current().sources.get("detector.threshold")).toBe("dev.yaml");
    writeFileSync(join(dir, "dev.yaml"), "detector:\n  threshold: 7\n");
    await until(() => watcher!.stats().rejected === 1);
    expect(watcher.current().config.detector.threshold).toBe(0.75);
    expect(log.lines.find((l) => l.level === "warn")!.fields).toMatchObject({ issues: ["detector.threshold: must be <= 1 (from dev.yaml)"] });
    writeFileSync(join(dir, "other.yaml"), "detector:\n  threshold: 0.1\n"); // not a layer of this env
    writeFileSync(join(dir, "default.yaml"), "detector:\n  windowSize: 5\n");
    writeFileSync(join(dir, "dev.yaml"), "detector:\n  threshold: 0.7\n");
    await until(() => seen.length === 2);
    expect(watcher.current().config.detector).toMatchObject({ threshold: 0.7, windowSize: 5 });
  });
});
