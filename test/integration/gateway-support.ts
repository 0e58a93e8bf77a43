/** Shared helpers of the gateway integration tests (not a test file). */
import { Registry } from "prom-client";
import { createOpenAIProvider } from "../../src/adapters/openai/index.js";
import { createGateway, createGatewayMetrics, gatewayConfigSchema } from "../../src/gateway/index.js";
import type { GatewayConfig, GatewayService } from "../../src/gateway/index.js";
import type { CacheStore } from "../../src/gateway/cache.js";
import { defaultPrompts } from "../../src/config/gateway-prompts.js";
import type { MetricWindow } from "../../src/ports/gateway.js";
import type { FakeOpenAI } from "../harness/fake-openai.js";

let n = 0;
/** A letters-only unique word (signatures normalise digits away). */
export function uniqueWord(): string {
  let i = ++n;
  let s = "";
  while (i > 0) {
    s = String.fromCharCode(97 + (i % 26)) + s;
    i = Math.floor(i / 26);
  }
  return `case${s}`;
}

/** A window whose last value is a clear spike. */
export function spikeWindow(deviceId = "dev-1", metric = "temp"): MetricWindow {
  const values = Array.from({ length: 32 }, (_, i) => 20 + Math.sin(i / 3));
  values[31] = 45;
  return { deviceId, metric, values };
}

export interface LlmConfigOptions {
  readonly provider?: Record<string, unknown>;
  readonly budget?: Record<string, unknown>;
  readonly fallback?: string[];
  readonly extra?: Record<string, unknown>;
}

/** A config whose explain/summarize/embed go to the fake OpenAI (model key `gpt`). */
export function llmConfig(fake: FakeOpenAI, o: LlmConfigOptions = {}): GatewayConfig {
  const v1 = (op: "explain" | "summarize" | "embed") => ({ ...defaultPrompts[op].versions.v1, model: "gpt", fallback: o.fallback ?? [] });
  return gatewayConfigSchema.parse({
    providers: {
      llm: {
        kind: "openai",
        baseUrl: fake.baseUrl,
        apiKey: "sk-test-secret",
        timeout: "1s",
        rateLimit: { requestsPerSec: 1_000, burst: 1_000 },
        retry: { maxAttempts: 3, baseDelay: "20ms", maxDelay: "3s" },
        breaker: { failureThreshold: 3, open: "400ms" },
        ...o.provider,
      },
    },
    models: { gpt: { provider: "llm", name: "gpt-4o-mini", inputUsdPer1M: 0.15, outputUsdPer1M: 0.6 } },
    prompts: {
      explain: { versions: { v1: v1("explain") }, split: { v1: 100 } },
      summarize: { versions: { v1: v1("summarize") }, split: { v1: 100 } },
      embed: { versions: { v1: v1("embed") }, split: { v1: 100 } },
    },
    ...(o.budget ? { budget: o.budget } : {}),
    ...o.extra,
  });
}

/** A gateway over the fake OpenAI with its own metrics registry. */
export function llmGateway(fake: FakeOpenAI, cfg: GatewayConfig, cache?: CacheStore, onSend?: () => void): { gw: GatewayService; registry: Registry } {
  const registry = new Registry();
  const p = createOpenAIProvider({ id: "llm", baseUrl: fake.baseUrl, apiKey: "sk-test-secret", structuredOutput: cfg.providers.llm!.structuredOutput });
  const tapped = onSend ? { ...p, complete: (c: Parameters<typeof p.complete>[0]) => (onSend(), p.complete(c)) } : p;
  const providers = new Map([["llm", tapped]]);
  const gw = createGateway({ config: cfg, providers, metrics: createGatewayMetrics(registry), ...(cache ? { cache } : {}) });
  return { gw, registry };
}

/** Value of a metric sample (sum over samples matching `labels`). */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  if (!m) return 0;
  return (m.values as Array<{ value: number; labels: Record<string, string | number> }>)
    .filter((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val))
    .reduce((s, v) => s + v.value, 0);
}
