import type { Clock } from "../ports/clock.js";
import type { DegradedReason, GatewayOp, ModelInfo, Usage } from "../ports/gateway.js";
import type { PatternCache } from "./cache.js";
import { Coalescer } from "./coalescer.js";
import type { GatewayConfig, ModelConfig } from "../config/schema-gateway.js";
import type { BudgetLedger } from "./shared-budget.js";
import { costOf } from "./cost.js";
import { toGatewayError } from "./errors.js";
import type { GatewayMetrics } from "./metrics.js";
import type { PromptRoute } from "./prompts.js";
import type { Tracing } from "../ports/tracing.js";
import type { ProviderLane } from "./provider-lane.js";

/** An answer with its provenance. */
export interface Answer<T> {
  readonly value: T;
  readonly model: ModelInfo;
}

/** What one remote attempt chain needs: how to call a model, and its worst-case cost. */
export interface RemotePlan<T> {
  /** Upper bound of the call's cost in USD (reserved against the budget before calling). */
  estimateUsd(model: ModelConfig): number;
  /** Call the model through its provider's lane; resolves with the value, usage and attempts. */
  call(modelKey: string, model: ModelConfig, lane: ProviderLane, deadlineMs: number | undefined, traceparent?: string): Promise<{ value: T; usage: Usage; attempts: number }>;
}

export interface RunnerDeps {
  readonly clock: Clock;
  readonly cache: PatternCache;
  /** The current budget (replaced when its config changes). */
  budget(): BudgetLedger;
  readonly metrics?: GatewayMetrics | undefined;
  /** Spans of upstream calls of traced requests. Default: none. */
  readonly tracing?: Tracing | undefined;
  config(): GatewayConfig;
  lane(providerId: string): ProviderLane | undefined;
}

const reasonOf: Record<string, DegradedReason> = {
  budget_exhausted: "budget",
  circuit_open: "circuit_open",
  rate_limited: "rate_limited",
  overloaded: "overload",
  deadline_exceeded: "deadline",
  invalid_output: "invalid_output",
};

/**
 * Runs LLM-backed operations: pattern cache → coalescing → failover chain over provider lanes
 * (each with budget reservation, rate limit, breaker, retries) → graceful degradation to `local`.
 * Never rejects for upstream trouble: the worst case is a degraded local answer that says why.
 */
export class LlmRunner {
  private readonly coalescer = new Coalescer<Answer<unknown>>();

  constructor(private readonly deps: RunnerDeps) {}

  /** Requests that joined an in-flight identical request. */
  get coalesced(): number {
    return this.coalescer.joined;
  }

  /** A local answer with provenance; `reason` marks it as degraded. */
  localAnswer<T>(op: GatewayOp, route: PromptRoute, value: T, signature: string, reason?: DegradedReason): Answer<T> {
    const m = this.deps.metrics;
    if (reason) m?.degraded.inc({ op, reason });
    m?.requests.inc({ op, provider: "local", model: "local", outcome: reason ? "degraded" : "ok" });
    return {
      value,
      model: { provider: "local", model: "local", promptVersion: route.promptVersion, cached: false, inputTokens: 0, outputTokens: 0, costUsd: 0, degraded: reason !== undefined, degradedReason: reason, attempts: 0, signature },
    };
  }

  /** Cached, coalesced, failed-over execution of `plan` for `route`; `local()` is the last resort. */
  async run<T>(op: GatewayOp, route: PromptRoute, signature: string, plan: RemotePlan<T>, local: () => T, deadlineMs: number | undefined, trace?: string): Promise<Answer<T>> {
    const { cache, metrics, clock } = this.deps;
    const started = clock.now();
    const hit = await cache.get<Answer<T>>(signature);
    if (hit.hit) {
      metrics?.cacheHits.inc({ op });
      const m = hit.value.model;
      metrics?.requests.inc({ op, provider: m.provider, model: m.model, outcome: "cached" });
      metrics?.latency.observe({ op, provider: "cache", model: m.model }, (clock.now() - started) / 1000);
      return { value: hit.value.value, model: { ...m, cached: true, inputTokens: 0, outputTokens: 0, costUsd: 0, attempts: 0, signature } };
    }
    if (hit.error !== undefined) metrics?.cacheErrors.inc({ op });
    metrics?.cacheMisses.inc({ op });
    const { promise, leader } = this.coalescer.run(signature, () => this.chain(op, route, signature, plan, local, deadlineMs, trace));
    if (!leader) metrics?.coalesced.inc({ op });
    const answer = (await promise) as Answer<T>;
    return leader ? answer : { value: answer.value, model: { ...answer.model, inputTokens: 0, outputTokens: 0, costUsd: 0, attempts: 0 } };
  }

  private async chain<T>(op: GatewayOp, route: PromptRoute, signature: string, plan: RemotePlan<T>, local: () => T, deadlineMs: number | undefined, trace: string | undefined): Promise<Answer<T>> {
    const { clock, metrics, cache } = this.deps;
    const budget = this.deps.budget();
    const cfg = this.deps.config();
    let reason: DegradedReason | undefined;
    for (const [i, modelKey] of route.chain.entries()) {
      if (modelKey === "local") break;
      if (deadlineMs !== undefined && clock.now() >= deadlineMs) {
        reason = "deadline";
        break;
      }
      const model = cfg.models[modelKey];
      const lane = model && this.deps.lane(model.provider);
      if (!model || !lane) {
        reason = "upstream";
        continue;
      }
      let reservation;
      try {
        reservation = await budget.reserve(plan.estimateUsd(model));
      } catch {
        reason = "budget";
        continue;
      }
      const started = clock.now();
      // The upstream call of a traced request (the coalesced leader's: followers share it).
      const span = trace !== undefined ? this.deps.tracing?.start("shoal.gateway.upstream", { parent: trace, kind: "client", attributes: { "shoal.gateway.op": op, "shoal.gateway.provider": lane.id, "shoal.gateway.model": modelKey } }) : undefined;
      try {
        const r = await plan.call(modelKey, model, lane, deadlineMs, span?.traceparent);
        const costUsd = costOf(r.usage, model);
        if (span !== undefined) {
          span.setAttribute("shoal.gateway.input_tokens", r.usage.inputTokens);
          span.setAttribute("shoal.gateway.output_tokens", r.usage.outputTokens);
          span.setAttribute("shoal.gateway.cost_usd", costUsd);
          span.setAttribute("shoal.gateway.attempts", r.attempts);
          span.end();
        }
        reservation.settle(costUsd);
        const labels = { provider: lane.id, model: modelKey };
        metrics?.tokens.inc({ ...labels, kind: "input" }, r.usage.inputTokens);
        metrics?.tokens.inc({ ...labels, kind: "output" }, r.usage.outputTokens);
        metrics?.costUsd.inc(labels, costUsd);
        metrics?.budgetRemainingUsd.set(budget.remaining);
        metrics?.latency.observe({ op, ...labels }, (clock.now() - started) / 1000);
        const degraded = i > 0;
        if (degraded) metrics?.degraded.inc({ op, reason: reason ?? "upstream" });
        metrics?.requests.inc({ op, ...labels, outcome: degraded ? "degraded" : "ok" });
        const answer: Answer<T> = {
          value: r.value,
          model: {
            provider: lane.id,
            model: modelKey,
            promptVersion: route.promptVersion,
            cached: false,
            inputTokens: r.usage.inputTokens,
            outputTokens: r.usage.outputTokens,
            costUsd,
            degraded,
            degradedReason: degraded ? (reason ?? "upstream") : undefined,
            attempts: r.attempts,
            signature,
          },
        };
        // Only primary-model answers are cached: a fallback's answer must not outlive the outage.
        if (!degraded) await cache.set(signature, { value: answer.value, model: answer.model });
        return answer;
      } catch (e) {
        reservation.settle(0);
        const err = toGatewayError(e);
        span?.fail(`${err.code}: ${err.message}`);
        span?.end();
        reason = reasonOf[err.code] ?? "upstream";
      }
    }
    return this.localAnswer(op, route, local(), signature, reason ?? "upstream");
  }
}
