import { Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** A named counter snapshot source: returns current values, read at scrape time. */
export type StatsSource = () => Record<string, number>;

/**
 * A Prometheus registry whose gauges are read from the roles' plain counters at scrape time
 * (roles keep cheap integer counters on their hot paths; nothing is pushed per message).
 */
export function createMetricsRegistry(sources: Record<string, StatsSource>, opts: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "shoal_" }); // shoal_process_cpu_seconds_total, shoal_nodejs_eventloop_lag_p99_seconds, ...
  new Gauge({
    name: "shoal_pipeline_count",
    help: "Pipeline counters by role and name (monotonic unless the name says otherwise)",
    labelNames: ["role", "name"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [role, src] of Object.entries(sources)) {
        for (const [name, v] of Object.entries(src())) this.set({ role, name }, v);
      }
    },
  });
  return registry;
}
