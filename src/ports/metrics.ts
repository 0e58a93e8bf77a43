/** Label values of one metric sample. */
export type MetricLabels = Readonly<Record<string, string | number>>;

/** A monotonically increasing counter. */
export interface CounterMetric {
  inc(labels: MetricLabels, value?: number): void;
}

/** A value that goes up and down. */
export interface GaugeMetric {
  set(labels: MetricLabels, value: number): void;
}

/** A distribution of observed values (e.g. latency in seconds). */
export interface HistogramMetric {
  observe(labels: MetricLabels, value: number): void;
}

/**
 * A tiny metrics registry (a prom-client Registry behind an adapter in production). Calling a
 * factory twice with the same name returns the same metric.
 */
export interface MetricsRegistry {
  counter(name: string, help: string, labelNames: readonly string[]): CounterMetric;
  gauge(name: string, help: string, labelNames: readonly string[]): GaugeMetric;
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): HistogramMetric;
}
