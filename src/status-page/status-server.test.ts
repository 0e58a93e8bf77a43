import { Gauge, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { startStatusServer } from "./status-server.js";

describe("status server", () => {
  const servers: Array<{ close(cb: () => void): void }> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  async function start(opts: { ready: () => boolean; readyReason?: () => string; degraded?: () => string; refresh?: () => Promise<void>; registry: Registry }) {
    const st = await startStatusServer({ host: "127.0.0.1", port: 0, ...opts });
    servers.push(st.server);
    return async (path: string) => {
      const res = await fetch(`${st.url}${path.slice(1)}`);
      return { status: res.status, body: await res.text() };
    };
  }

  it("/readyz is 503 with the reason until ready, then 200; /healthz is always 200", async () => {
    let ready = false;
    const get = await start({ ready: () => ready, readyReason: () => "partitions not owned: 3", registry: new Registry() });
    expect(await get("/readyz")).toEqual({ status: 503, body: "not ready: partitions not owned: 3" });
    expect(await get("/healthz")).toEqual({ status: 200, body: "ok" });
    ready = true;
    expect(await get("/readyz")).toEqual({ status: 200, body: "ready" });
    // No JSON side API: counters are in /metrics, the console and AdminService.
    expect((await get("/api/stats")).status).toBe(404);
    expect((await get("/")).body).toContain("/metrics (Prometheus), /healthz, /readyz");
  });

  it("runs refresh before each /metrics scrape, and serves the metrics even when refresh fails", async () => {
    const registry = new Registry();
    const g = new Gauge({ name: "shoal_test_value", help: "test", registers: [registry] });
    let n = 0;
    const get = await start({
      ready: () => true,
      registry,
      refresh: async () => {
        n++;
        if (n === 2) throw new Error("introspection failed");
        g.set(n * 10);
      },
    });
    expect((await get("/metrics")).body).toContain("shoal_test_value 10");
    const second = await get("/metrics");
    expect(second.status).toBe(200);
    expect(second.body).toContain("shoal_test_value 10");
    expect((await get("/metrics")).body).toContain("shoal_test_value 30");
  });

  it("/healthz stays 200 but says degraded while an incident is recent", async () => {
    let degraded = "degraded: journal.stream-missing 2s ago";
    const get = await start({ ready: () => true, degraded: () => degraded, registry: new Registry() });
    expect(await get("/healthz")).toEqual({ status: 200, body: "ok, degraded: journal.stream-missing 2s ago" });
    degraded = "";
    expect(await get("/healthz")).toEqual({ status: 200, body: "ok" });
  });
});
