import { describe, expect, it } from "vitest";
import { createMetricsRegistry } from "./metrics.js";
import { namingViolation, namingViolations } from "./metric-conventions.js";

describe("metric naming convention", () => {
  it("accepts shoal_<part>_<thing> with unit suffixes, and the process metrics", () => {
    expect(namingViolation("shoal_bridge_accepted_total", "counter")).toBeUndefined();
    expect(namingViolation("shoal_grpc_server_duration_seconds", "histogram")).toBeUndefined();
    expect(namingViolation("shoal_runtime_owned_partitions", "gauge")).toBeUndefined();
    expect(namingViolation("shoal_nodejs_active_handles_total", "gauge")).toBeUndefined();
  });

  it("rejects counters without _total, unitless histograms, _total gauges and foreign prefixes", () => {
    expect(namingViolation("shoal_bridge_accepted", "counter")).toMatch(/_total/);
    expect(namingViolation("shoal_gateway_latency", "histogram")).toMatch(/unit/);
    expect(namingViolation("shoal_runtime_queued_total", "gauge")).toMatch(/gauge/);
    expect(namingViolation("pipeline_count", "gauge")).toMatch(/shoal_/);
    expect(namingViolation("shoal_Bridge_x_total", "counter")).toMatch(/snake/);
    expect(namingViolation("shoal_runtime_turn_latency_us", "gauge")).toMatch(/_seconds/);
    expect(namingViolation("shoal_query_duration_ms", "histogram")).toMatch(/_seconds/);
    expect(namingViolation("shoal_bridge_last_at_ms", "gauge")).toBeUndefined();
  });

  it("every metric the role-counter adapter derives follows the convention", async () => {
    const stats = { received: 1, held: 2, inFlight: 0, lastAtMs: 5, rejectedByCode: { x: 1 }, relay: { published: 3, connected: true } };
    const text = await createMetricsRegistry({ bridge: () => stats, runtime: () => stats }).metrics();
    const families = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as [string, string]));
    expect(families.size).toBeGreaterThan(20);
    expect(namingViolations(families)).toEqual([]);
  });
});
