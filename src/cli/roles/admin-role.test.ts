import { createServer } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../config/index.js";
import { createLogger } from "../../observability/logger.js";
import { Registry } from "prom-client";
import { countersOf, partitionLagRefresher, singleNodeReadiness, startAdminRole } from "./admin-role.js";

const dir = mkdtempSync(join(tmpdir(), "shoal-admin-role-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = createLogger({ level: "silent", name: "test" });

describe("startAdminRole", () => {
  it("a port already in use is logged and the process runs on without the admin server", async () => {
    const taken = createServer();
    const port = await new Promise<number>((r) => taken.listen(0, "127.0.0.1", () => r((taken.address() as { port: number }).port)));
    try {
      const cfg = resolveConfig({ env: { SHOAL__ADMIN__PORT: String(port) }, configDir: dir }).config;
      const role = await startAdminRole(cfg, log, { roles: ["runtime"], counters: () => ({}), readiness: () => "" });
      expect(role.address).toBeUndefined();
      await role.close();
    } finally {
      taken.close();
    }
  });

  it("binds admin.host:admin.port (0 = a free port)", async () => {
    const cfg = resolveConfig({ env: { SHOAL__ADMIN__PORT: "0" }, configDir: dir }).config;
    const role = await startAdminRole(cfg, log, { roles: ["runtime"], counters: () => ({}), readiness: () => "" });
    expect(role.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(role.address).not.toBe("127.0.0.1:0");
    await role.close();
  });
});

describe("singleNodeReadiness", () => {
  it("reads the lag of every owned partition and applies the bound", async () => {
    const pending = [0, 5, 2000];
    const journal = { lag: async (p: number) => ({ partition: p, pending: pending[p]!, ackPending: 0, ackFloor: 0 }), rewind: async () => 0 };
    expect(await singleNodeReadiness(3, () => [0, 1, 2], journal, 2000)()).toBe("");
    expect(await singleNodeReadiness(3, () => [0, 1, 2], journal, 1000)()).toBe("partitions behind by more than 1000 messages: 2 (2000 pending)");
    expect(await singleNodeReadiness(3, () => [0, 2], journal, 5000)()).toBe("partitions not owned: 1");
    const down = { lag: async () => Promise.reject(new Error("nats down")), rewind: async () => 0 };
    expect(await singleNodeReadiness(1, () => [0], down, 5000)()).toBe("partitions behind by more than 5000 messages: 0 (lag unknown)");
  });
});

describe("partitionLagRefresher", () => {
  it("gives each owned partition's lag, how many are owned and the journal's count; a partition given up leaves the gauge", async () => {
    const registry = new Registry();
    let owned = [1, 3];
    const journal = { lag: async (p: number) => ({ partition: p, pending: 10 * p, ackPending: p, ackFloor: 0 }), rewind: async () => 0 };
    const refresh = partitionLagRefresher(registry, () => owned, journal, 16);
    await refresh();
    const text = await registry.metrics();
    expect(text).toMatch(/^shoal_runtime_journal_partitions 16$/m);
    expect(text).toMatch(/^shoal_runtime_partitions_owned 2$/m);
    expect(text).toMatch(/^shoal_runtime_partition_lag_messages\{partition="3"\} 33$/m);
    owned = [1];
    await refresh();
    const after = await registry.metrics();
    expect(after).toMatch(/^shoal_runtime_partitions_owned 1$/m);
    expect(after).not.toMatch(/partition="3"/);
  });
});

describe("countersOf", () => {
  it("keeps finite numbers, prefixed", () => {
    expect(countersOf("runtime", { acked: 3, name: "x", nan: Number.NaN, nested: { a: 1 } })).toEqual({ "runtime.acked": 3 });
  });
});
