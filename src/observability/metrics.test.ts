import { describe, expect, it } from "vitest";
import { createMetricsRegistry, roleMetricName } from "./metrics.js";

describe("role counters as Prometheus metrics", () => {
  it("names every numeric field shoal_<role>_<path>, counters with _total, levels and flags as gauges", async () => {
    const stats = { received: 5, publishFailures: 1, held: 3, rejectedByCode: { invalid_field: 2, oversized: 1 } as Record<string, number>, relay: { published: 7 }, leader: true, session: "abc", skip: undefined };
    const reg = createMetricsRegistry({ bridge: () => stats }, { defaultMetrics: false });
    stats.received = 9;
    stats.rejectedByCode.unknown_device = 4;
    const text = await reg.metrics();
    expect(text).toContain("# TYPE shoal_bridge_received_total counter\nshoal_bridge_received_total 9\n");
    expect(text).toContain("shoal_bridge_publish_failures_total 1\n");
    expect(text).toContain("# TYPE shoal_bridge_held gauge\nshoal_bridge_held 3\n");
    expect(text).toContain('shoal_bridge_rejected_by_code_total{code="invalid_field"} 2\n');
    expect(text).toContain('shoal_bridge_rejected_by_code_total{code="unknown_device"} 4\n');
    expect(text).toContain("shoal_bridge_relay_published_total 7\n");
    expect(text).toContain("shoal_bridge_leader 1\n");
    expect(text).not.toContain("session");
    expect(text).not.toContain("skip");
    expect(text).not.toContain("shoal_pipeline_count");
  });

  it("every name follows shoal_<role>_<thing>[_total]", () => {
    expect(roleMetricName("alerts", ["notifier", "deadLettered"], "counter")).toBe("shoal_alerts_notifier_dead_lettered_total");
    expect(roleMetricName("runtime", ["ownedPartitions"], "gauge")).toBe("shoal_runtime_owned_partitions");
    expect(roleMetricName("bridge", ["rejectedByCode"], "labelled")).toBe("shoal_bridge_rejected_by_code_total");
  });
});
