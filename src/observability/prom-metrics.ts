import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { CounterMetric, GaugeMetric, HistogramMetric, MetricsRegistry } from "../ports/metrics.js";

/**
 * The {@link MetricsRegistry} port on a prom-client Registry. A name already registered (by this
 * adapter or anyone else) returns that metric, so two users of one name share it.
 */
export function promMetrics(registry: Registry): MetricsRegistry {
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    counter(name, help, labelNames): CounterMetric {
      const c = existing<Counter>(name) ?? new Counter({ name, help, labelNames: [...labelNames], registers: [registry] });
      return { inc: (labels, value = 1) => c.inc(labels, value) };
    },
    gauge(name, help, labelNames): GaugeMetric {
      const g = existing<Gauge>(name) ?? new Gauge({ name, help, labelNames: [...labelNames], registers: [registry] });
      return { set: (labels, value) => g.set(labels, value) };
    },
    histogram(name, help, labelNames, buckets): HistogramMetric {
      const h = existing<Histogram>(name) ?? new Histogram({ name, help, labelNames: [...labelNames], buckets: [...buckets], registers: [registry] });
      // One child per label set, kept: prom-client hashes and checks the labels on every observe otherwise.
      const children = new Map<string, { observe(v: number): void }>();
      return {
        observe: (labels, value) => {
          const key = labelNames.map((l) => labels[l]).join("\u0000");
          let c = children.get(key);
          if (c === undefined) children.set(key, (c = h.labels(labels as Record<string, string | number>)));
          c.observe(value);
        },
      };
    },
  };
}
