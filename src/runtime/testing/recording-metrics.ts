import type { MetricLabels, MetricsRegistry } from "../../ports/metrics.js";

/** MetricsRegistry fake that records the latest value per series (`name{k=v,...}`). */
export class RecordingMetrics implements MetricsRegistry {
  readonly values = new Map<string, number>();

  private series(name: string, labels: MetricLabels): string {
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    return `${name}{${l}}`;
  }

  counter(name: string) {
    return { inc: (labels: MetricLabels, v = 1) => this.values.set(this.series(name, labels), (this.values.get(this.series(name, labels)) ?? 0) + v) };
  }

  gauge(name: string) {
    return { set: (labels: MetricLabels, v: number) => this.values.set(this.series(name, labels), v) };
  }

  histogram(name: string) {
    return { observe: (labels: MetricLabels, v: number) => this.values.set(this.series(name, labels), v) };
  }
}
