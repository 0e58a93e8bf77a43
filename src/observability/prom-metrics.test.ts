import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createRuntimeMetrics } from "../runtime/runtime-metrics.js";
import { promMetrics } from "./prom-metrics.js";

describe("promMetrics (MetricsRegistry port on prom-client)", () => {
  it("creates each metric once and shares it by name", async () => {
    const registry = new Registry();
    const m = promMetrics(registry);
    m.counter("shoal_x_total", "x", ["k"]).inc({ k: "a" }, 2);
    m.counter("shoal_x_total", "x", ["k"]).inc({ k: "a" });
    m.gauge("shoal_y", "y", []).set({}, 7);
    m.histogram("shoal_z_seconds", "z", [], [0.1, 1]).observe({}, 0.5);
    const text = await registry.metrics();
    expect(text).toContain('shoal_x_total{k="a"} 3');
    expect(text).toContain("shoal_y 7");
    expect(text).toContain('shoal_z_seconds_bucket{le="1"} 1');
  });

  it("carries the runtime introspection gauges and counters (src/runtime/runtime-metrics.ts)", async () => {
    const registry = new Registry();
    const rm = createRuntimeMetrics(promMetrics(registry));
    const worker = { worker: 0, partitions: [0], activeByType: { device: 5 }, mailboxDepth: 3, maxMailboxDepth: 2, inFlight: 3, turns: 40, activations: 5, passivations: 0, restarts: 0, deadLetters: 0, snapshots: 1, skipped: 0, configVersion: "", turnLatencyUs: { p50: 1.5, p99: 9, max: 20 }, logicCounters: { device: { applied: 40, duplicate: 2 } } };
    rm.update({ workers: [worker], workerRestarts: 0, pendingSnapshots: 1 });
    rm.update({ workers: [{ ...worker, turns: 50, logicCounters: { device: { applied: 45, duplicate: 2, seq_out_of_range: 1 } } }], workerRestarts: 1, pendingSnapshots: 0 });
    const text = await registry.metrics();
    expect(text).toContain('shoal_runtime_active_actors{worker="0",actor_type="device"} 5');
    expect(text).toContain('shoal_runtime_turns_total{worker="0"} 50');
    expect(text).toContain('shoal_runtime_mailbox_depth{worker="0"} 3');
    expect(text).toContain('shoal_runtime_turn_latency_seconds{worker="0",quantile="0.99"} 0.000009');
    expect(text).toContain("shoal_runtime_worker_restarts_total 1");
    expect(text).toContain("shoal_runtime_pending_snapshots 0");
    expect(text).toContain('shoal_actor_events_total{worker="0",actor_type="device",event="applied"} 45');
    expect(text).toContain('shoal_actor_events_total{worker="0",actor_type="device",event="duplicate"} 2');
    expect(text).toContain('shoal_actor_events_total{worker="0",actor_type="device",event="seq_out_of_range"} 1');
  });
});
