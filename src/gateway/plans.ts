import type { Explanation, MetricWindow } from "../ports/gateway.js";
import type { ModelConfig } from "../config/schema-gateway.js";
import { estimateTokens } from "./cost.js";
import type { CallSpec } from "./llm-io.js";
import { explainCall, parseExplanation, parseScore, scoreCall, summarizeCall } from "./llm-io.js";
import type { RemotePlan } from "./llm-runner.js";
import type { PromptRoute } from "./prompts.js";

/**
 * Remote plans of the chat-style operations: build the call for a model, reserve its worst-case
 * cost, run it through the provider's lane, parse the answer. Parsing happens outside the lane so
 * a malformed answer is not retried against the same model but moves down the failover chain.
 */
function chatPlan<T>(build: (model: string) => CallSpec, parse: (text: string) => T, op: string): RemotePlan<T> {
  return {
    estimateUsd(model: ModelConfig) {
      const spec = build(model.name);
      const input = estimateTokens(spec.system) + estimateTokens(spec.user);
      return (input * model.inputUsdPer1M + (spec.maxTokens ?? 1000) * model.outputUsdPer1M) / 1e6;
    },
    async call(modelKey, model, lane, deadlineMs, traceparent) {
      const spec = build(model.name);
      // Worst case for the provider's tokens-per-minute limit: prompt estimate + max output.
      const tokens = estimateTokens(spec.system) + estimateTokens(spec.user) + (spec.maxTokens ?? 1000);
      const r = await lane.call((signal) => lane.provider.complete({ ...spec, signal, ...(traceparent !== undefined ? { traceparent } : {}) }), {
        op,
        model: modelKey,
        deadlineMs,
        tokens,
        usedTokens: (v) => v.usage.inputTokens + v.usage.outputTokens,
      });
      return { value: parse(r.value.text), usage: r.value.usage, attempts: r.attempts };
    },
  };
}

export function explainPlan(route: PromptRoute, w: MetricWindow, score: number, context?: Readonly<Record<string, string>>): RemotePlan<Explanation> {
  return chatPlan((m) => explainCall(route.prompt, m, w, score, context), parseExplanation, "explain");
}

export function scorePlan(route: PromptRoute, w: MetricWindow): RemotePlan<number> {
  return chatPlan((m) => scoreCall(route.prompt, m, w), parseScore, "score");
}

export function summarizePlan(route: PromptRoute, title: string, items: readonly string[]): RemotePlan<string> {
  return chatPlan((m) => summarizeCall(route.prompt, m, title, items), (t) => t.trim(), "summarize");
}
