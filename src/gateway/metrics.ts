import { Counter, Gauge, Histogram } from "prom-client";
import type { Registry } from "prom-client";
import type { BreakerState } from "./circuit-breaker.js";

/**
 * Prometheus metrics of the gateway, registered on an injected Registry (no global default).
 * Labels: `provider`, `model` (model key), `op`; `outcome` ∈ ok | error | degraded.
 */
export interface GatewayMetrics {
  /** Requests answered, by the provider/model that answered and whether it was cached/degraded. */
  readonly requests: Counter<"op" | "provider" | "model" | "outcome">;
  /** Upstream attempts to a provider, by result code (ok, rate_limited, upstream, timeout...). */
  readonly upstreamCalls: Counter<"provider" | "model" | "op" | "result">;
  readonly cacheHits: Counter<"op">;
  readonly cacheMisses: Counter<"op">;
  readonly cacheErrors: Counter<"op">;
  readonly coalesced: Counter<"op">;
  readonly tokens: Counter<"provider" | "model" | "kind">;
  readonly costUsd: Counter<"provider" | "model">;
  readonly latency: Histogram<"op" | "provider" | "model">;
  /** 0 closed, 1 half_open, 2 open. */
  readonly breakerState: Gauge<"provider">;
  readonly budgetRemainingUsd: Gauge;
  readonly degraded: Counter<"op" | "reason">;
  /** Async caller overflow: requests answered locally because in-flight and queue were full. */
  readonly callerOverflow: Counter<"op">;
  setBreaker(provider: string, state: BreakerState): void;
}

const stateValue: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** Create and register the gateway metrics on `registry`. */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const reg = [registry];
  const breakerState = new Gauge({ name: "shoal_gateway_breaker_state", help: "Circuit breaker state per provider (0 closed, 1 half-open, 2 open)", labelNames: ["provider"], registers: reg });
  return {
    requests: new Counter({ name: "shoal_gateway_requests_total", help: "Gateway requests answered", labelNames: ["op", "provider", "model", "outcome"], registers: reg }),
    upstreamCalls: new Counter({ name: "shoal_gateway_upstream_calls_total", help: "Upstream provider attempts by result", labelNames: ["provider", "model", "op", "result"], registers: reg }),
    cacheHits: new Counter({ name: "shoal_gateway_cache_hits_total", help: "Pattern cache hits", labelNames: ["op"], registers: reg }),
    cacheMisses: new Counter({ name: "shoal_gateway_cache_misses_total", help: "Pattern cache misses", labelNames: ["op"], registers: reg }),
    cacheErrors: new Counter({ name: "shoal_gateway_cache_errors_total", help: "Cache operations that failed or timed out (treated as misses)", labelNames: ["op"], registers: reg }),
    coalesced: new Counter({ name: "shoal_gateway_coalesced_total", help: "Requests that joined an identical in-flight request", labelNames: ["op"], registers: reg }),
    tokens: new Counter({ name: "shoal_gateway_tokens_total", help: "LLM tokens by kind (input/output)", labelNames: ["provider", "model", "kind"], registers: reg }),
    costUsd: new Counter({ name: "shoal_gateway_cost_usd_total", help: "LLM spend in USD", labelNames: ["provider", "model"], registers: reg }),
    latency: new Histogram({
      name: "shoal_gateway_latency_seconds",
      help: "Request latency by answering provider/model",
      labelNames: ["op", "provider", "model"],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: reg,
    }),
    breakerState,
    budgetRemainingUsd: new Gauge({ name: "shoal_gateway_budget_remaining_usd", help: "LLM budget left in the current period", registers: reg }),
    degraded: new Counter({ name: "shoal_gateway_degraded_total", help: "Requests answered by a fallback, by reason", labelNames: ["op", "reason"], registers: reg }),
    callerOverflow: new Counter({ name: "shoal_gateway_caller_overflow_total", help: "Async caller requests answered locally because in-flight and queue were full", labelNames: ["op"], registers: reg }),
    setBreaker: (provider, state) => breakerState.set({ provider }, stateValue[state]),
  };
}
