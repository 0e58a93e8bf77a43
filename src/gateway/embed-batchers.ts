import type { Clock } from "../ports/clock.js";
import type { Usage } from "../ports/gateway.js";
import type { GatewayConfig, ModelConfig } from "../config/schema-gateway.js";
import { estimateTokens } from "./cost.js";
import type { RemotePlan } from "./llm-runner.js";
import { createMicroBatcher } from "./micro-batcher.js";
import type { MicroBatcher } from "./micro-batcher.js";
import type { ProviderLane } from "./provider-lane.js";

interface EmbedItem {
  readonly text: string;
  readonly deadlineMs: number | undefined;
}
interface EmbedOut {
  readonly value: number[];
  readonly usage: Usage;
  readonly attempts: number;
}

/**
 * Micro-batching of remote text embeddings: texts for the same model arriving within
 * `batching.embedMaxWaitMs` go upstream as one embeddings request (one rate-limit token), and
 * the usage is split evenly over the items.
 */
export function createEmbedBatchers(deps: { readonly clock: Clock; config(): GatewayConfig }) {
  const batchers = new Map<string, MicroBatcher<EmbedItem, EmbedOut>>();

  const batcherFor = (modelKey: string, model: ModelConfig, lane: ProviderLane) => {
    const key = `${lane.id}\u0000${modelKey}`;
    let b = batchers.get(key);
    if (!b) {
      const cfg = deps.config().batching;
      b = createMicroBatcher<EmbedItem, EmbedOut>({
        clock: deps.clock,
        maxBatch: cfg.embedMaxBatch,
        maxWaitMs: cfg.embedMaxWaitMs,
        run: async (items) => {
          // The batch lives as long as its most patient member allows.
          const ds = items.map((i) => i.deadlineMs ?? Infinity);
          const deadline = Math.max(...ds);
          const r = await lane.call((signal) => lane.provider.embed({ model: model.name, inputs: items.map((i) => i.text), signal }), {
            op: "embed",
            model: modelKey,
            deadlineMs: Number.isFinite(deadline) ? deadline : undefined,
            tokens: items.reduce((s, i) => s + estimateTokens(i.text), 0),
            usedTokens: (v) => v.usage.inputTokens + v.usage.outputTokens,
          });
          const n = items.length;
          const share = { inputTokens: Math.ceil(r.value.usage.inputTokens / n), outputTokens: Math.ceil(r.value.usage.outputTokens / n) };
          return items.map((_, i) => {
            const v = r.value.vectors[i];
            return v ? { value: v, usage: share, attempts: r.attempts } : new Error(`provider returned ${r.value.vectors.length} vectors for ${n} inputs`);
          });
        },
      });
      batchers.set(key, b);
    }
    return b;
  };

  return {
    /** Remote plan embedding `text` through the batcher of the chosen model. */
    plan(text: string): RemotePlan<number[]> {
      return {
        estimateUsd: (model) => (estimateTokens(text) * model.inputUsdPer1M) / 1e6,
        call: (modelKey, model, lane, deadlineMs) => batcherFor(modelKey, model, lane)({ text, deadlineMs }),
      };
    },
    flushAll(): void {
      for (const b of batchers.values()) b.flush();
    },
  };
}
