import { Counter, Gauge, Registry } from "prom-client";
import type { Registry as RegistryType } from "prom-client";

/** Prometheus metrics of the configuration watcher, registered on an injected registry. */
export interface ConfigMetrics {
  readonly applied: Counter;
  readonly rejected: Counter;
  readonly consulErrors: Counter;
  /** 1 for the version in use (label `version`). */
  readonly info: Gauge;
  /** Unix seconds of the last applied change. */
  readonly lastApplied: Gauge;
}

function counter(registry: RegistryType, name: string, help: string): Counter {
  return (registry.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, registers: [registry] });
}

function gauge(registry: RegistryType, name: string, help: string, labelNames: string[] = []): Gauge {
  return (registry.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, labelNames, registers: [registry] });
}

/** Creates (or reuses, when already registered on `registry`) the configuration metrics. */
export function createConfigMetrics(registry: RegistryType = new Registry()): ConfigMetrics {
  return {
    applied: counter(registry, "shoal_config_applied_total", "Configuration changes validated and applied live."),
    rejected: counter(registry, "shoal_config_rejected_total", "Configuration changes rejected by validation (last good config kept)."),
    consulErrors: counter(registry, "shoal_config_consul_errors_total", "Failed Consul requests of the configuration watch."),
    info: gauge(registry, "shoal_config_info", "Configuration version in use (value 1).", ["version"]),
    lastApplied: gauge(registry, "shoal_config_last_applied_timestamp_seconds", "When the configuration in use was applied."),
  };
}
