import { z } from "zod";
import { DURATION_HINT, parseDuration } from "../base/units.js";
import { defaultPrompts } from "./gateway-prompts.js";

/**
 * Configuration section `gateway:` (providers, models, prompts, limits, budget). Every field has a
 * default, so `{}` parses to a working offline gateway (everything answered by `local`). Durations
 * are `...Ms`, prices USD per million tokens. The root schema in src/config embeds this one.
 */

/**
 * A duration: ms as a number, or "250ms" | "2s" | "5m" | "1h" | "7d" (the project-wide syntax of
 * src/config/units.ts). Input keys carry no unit; `withMs` renames them to `...Ms` on output
 * (ADR 0004: `timeout: 30s` in, `timeoutMs: 30000` out).
 */
function duration(def: string) {
  return z
    .unknown()
    .transform((v, ctx) => {
      const parsed = parseDuration(v);
      if (parsed === undefined) {
        ctx.addIssue({ code: "custom", message: typeof v === "string" || typeof v === "number" ? `invalid duration ${JSON.stringify(v)} (${DURATION_HINT})` : "expected a duration" });
        return z.NEVER;
      }
      return parsed;
    })
    .prefault(def);
}

/** A strict object whose duration keys `K` come out renamed to `${K}Ms`. */
function withMs<S extends z.ZodRawShape, K extends keyof S & string>(shape: S, keys: readonly K[]) {
  return z.strictObject(shape).transform((o) => {
    const out: Record<string, unknown> = { ...o };
    for (const k of keys) {
      out[`${k}Ms`] = out[k];
      delete out[k];
    }
    return out as Omit<z.output<z.ZodObject<S>>, K> & { [P in K as `${P}Ms`]: number };
  });
}

const retrySchema = withMs(
  {
    /** Total attempts including the first. */
    maxAttempts: z.number().int().min(1).max(20).default(4),
    /** Base of the exponential backoff (full jitter). */
    baseDelay: duration("200ms"),
    /** Cap of one backoff delay, also of an upstream Retry-After. */
    maxDelay: duration("10s"),
  },
  ["baseDelay", "maxDelay"],
);

const breakerSchema = withMs(
  {
    failureThreshold: z.number().int().min(1).default(5),
    /** How long the breaker stays open before letting probes through. */
    open: duration("30s"),
    halfOpenProbes: z.number().int().min(1).default(1),
    successThreshold: z.number().int().min(1).default(1),
  },
  ["open"],
);

const TPM_RULE = "must be a whole number of tokens per minute ≥ 0 (0 = no limit)";

const rateLimitSchema = z.strictObject({
  requestsPerSec: z.number().positive().default(10),
  burst: z.number().int().min(1).default(20),
  /**
   * Tokens per minute sent to this provider (prompt + completion), in any 60 s window; 0 = no
   * limit. Each attempt is charged its estimate (prompt ≈ 4 characters per token, plus the prompt
   * version's `maxTokens`) before it is sent and corrected by the reported `usage` afterwards.
   * Calls wait for room (FIFO, at most `maxQueue`, never past their deadline), else degrade with
   * reason `rate_limited`. Set it a little below the vendor's TPM limit.
   */
  tokensPerMinute: z.number({ error: TPM_RULE }).int({ error: TPM_RULE }).min(0, { error: TPM_RULE }).default(0),
});

const providerSchema = withMs({
  /** `local`: built-in deterministic models. `openai`: any OpenAI-compatible API (OpenAI, Azure, vLLM, Ollama). */
  kind: z.enum(["local", "openai"]),
  /** Base URL of the API, e.g. https://api.openai.com/v1 or http://localhost:11434/v1 (Ollama). */
  baseUrl: z.url().optional(),
  /** API key (secret; may be an `enc:` value resolved by the config module). Never logged. */
  apiKey: z.string().optional(),
  /** Environment variable read for the key when `apiKey` is not set. */
  apiKeyEnv: z.string().default("OPENAI_API_KEY"),
  /** Azure OpenAI: api-version query parameter; `baseUrl` is then the resource endpoint. */
  azureApiVersion: z.string().optional(),
  /** How explanations ask for JSON: a JSON schema (structured output), JSON mode, or prompt only. */
  structuredOutput: z.enum(["json_schema", "json_object", "none"]).default("json_schema"),
  /** Timeout of one upstream attempt. */
  timeout: duration("30s"),
  /** Most concurrent upstream calls. */
  maxConcurrency: z.number().int().min(1).default(8),
  /** Most calls waiting for a concurrency slot or a rate-limit token; beyond it calls degrade. */
  maxQueue: z.number().int().min(0).default(1_000),
  rateLimit: rateLimitSchema.prefault({}),
  retry: retrySchema.prefault({}),
  breaker: breakerSchema.prefault({}),
}, ["timeout"]);

const modelSchema = z.strictObject({
  /** Key of `providers`. */
  provider: z.string().min(1),
  /** Provider-side model name (Azure: deployment name). */
  name: z.string().min(1),
  inputUsdPer1M: z.number().min(0).default(0),
  outputUsdPer1M: z.number().min(0).default(0),
});

const promptVersionSchema = z.strictObject({
  /** Key of `models`. */
  model: z.string().min(1),
  system: z.string().default(""),
  /** Template with `{{name}}` placeholders (see src/gateway/prompts.ts for the variables). */
  user: z.string().default(""),
  temperature: z.number().min(0).max(2).default(0),
  maxTokens: z.number().int().min(1).default(300),
  /** Failover chain of model keys tried in order after `model`; `local` is always the last resort. */
  fallback: z.array(z.string().min(1)).default([]),
});

const promptSchema = z.strictObject({
  versions: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), promptVersionSchema),
  /** A/B split: version → weight; a subject (device) hash picks the version. */
  split: z.record(z.string(), z.number().min(0)),
});

const opPrompt = (op: keyof typeof defaultPrompts) => promptSchema.default(defaultPrompts[op]);

const schema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().default("127.0.0.1"),
      /** gRPC port (h2c); 0 picks a free one. */
      port: z.number().int().min(0).max(65_535).default(50_061),
      /** Prometheus /metrics HTTP port; 0 = off. */
      metricsPort: z.number().int().min(0).max(65_535).default(0),
    })
    .prefault({}),
  providers: z.record(z.string().regex(/^[a-z0-9_-]+$/), providerSchema).default({}),
  models: z.record(z.string().min(1), modelSchema).default({}),
  prompts: z
    .strictObject({ score: opPrompt("score"), explain: opPrompt("explain"), embed: opPrompt("embed"), summarize: opPrompt("summarize") })
    .prefault({}),
  cache: withMs(
    {
      /** Redis URL (redis://host:port); falls back to the root `redis.url`, else in-memory. */
      redisUrl: z.string().optional(),
      namespace: z.string().default("shoal-gateway"),
      ttl: duration("7d"),
      /** A cache operation slower than this counts as a miss (the request goes on). */
      opTimeout: duration("250ms"),
      /**
       * Signature resolution: PAA segments and quantisation levels (over ±3 robust σ) of the
       * normalised window. Coarser = more reuse across devices; 3 levels = low / normal / high.
       */
      segments: z.number().int().min(2).max(64).default(8),
      levels: z.number().int().min(2).max(32).default(3),
    },
    ["ttl", "opTimeout"],
  ).prefault({}),
  budget: withMs(
    {
      /** LLM spend allowed per period; exhausted → LLM calls degrade to local until the period rolls. */
      usdPerPeriod: z.number().min(0).default(10),
      period: duration("1d"),
      /** Above this fraction of the budget, only windows scoring >= softMinScore reach an LLM. */
      softLimitFraction: z.number().min(0).max(1).default(0.8),
      softMinScore: z.number().min(0).max(1).default(0.95),
      /**
       * Share the spend across gateway replicas through the cache's Redis (atomic INCRBYFLOAT on
       * a per-period key). Off, or without Redis, each gateway process has its own ledger and
       * `usdPerPeriod` is per process (see ADR 0005).
       */
      shared: z.boolean().default(true),
    },
    ["period"],
  ).prefault({}),
  /** Explain requests below this score are answered locally (only unusual patterns reach an LLM). */
  gate: z.strictObject({ explainMinScore: z.number().min(0).max(1).default(0.7) }).prefault({}),
  /** Default deadline of each operation when the caller gives none. */
  deadlines: withMs(
    { score: duration("2s"), explain: duration("60s"), embed: duration("30s"), summarize: duration("2m") },
    ["score", "explain", "embed", "summarize"],
  ).prefault({}),
  batching: withMs({ embedMaxBatch: z.number().int().min(1).default(64), embedMaxWait: duration("5ms") }, ["embedMaxWait"]).prefault({}),
  /** The in-runtime caller (src/gateway/async-caller.ts): bounded in-flight and queue, then local. */
  client: withMs(
    {
      address: z.string().default("127.0.0.1:50061"),
      /**
       * Name of the console.tokens entry internal callers (device actors, reports, vectors, query)
       * send to the gateway's gRPC port (it needs the operator role); "" or absent from the tokens:
       * no token is sent (refused where tokens are checked).
       */
      tokenName: z.string().default("runtime"),
      maxInFlight: z.number().int().min(1).default(256),
      maxQueue: z.number().int().min(0).default(10_000),
      /** Per-call timeout of the async caller. */
      timeout: duration("60s"),
      scoreMaxBatch: z.number().int().min(1).default(1024),
      /** 0 = flush on the next macrotask. */
      scoreMaxWait: duration("0ms"),
    },
    ["timeout", "scoreMaxWait"],
  ).prefault({}),
});

/** Zod schema of the `gateway:` section (input: durations as "2s"; output: `...Ms` numbers), with cross-reference checks (models → providers, prompts → models). */
export const gatewayConfigSchema = schema.superRefine((cfg, ctx) => {
  const providers = new Set(["local", ...Object.keys(cfg.providers)]);
  const models = new Set(["local", ...Object.keys(cfg.models)]);
  for (const [key, m] of Object.entries(cfg.models)) {
    if (!providers.has(m.provider)) {
      ctx.addIssue({ code: "custom", path: ["models", key, "provider"], message: `unknown provider "${m.provider}" (known: ${[...providers].join(", ")})` });
    }
  }
  for (const [op, p] of Object.entries(cfg.prompts)) {
    const versions = Object.keys(p.versions);
    if (versions.length === 0) ctx.addIssue({ code: "custom", path: ["prompts", op, "versions"], message: "at least one version is required" });
    for (const [v, pv] of Object.entries(p.versions)) {
      for (const [i, ref] of [pv.model, ...pv.fallback].entries()) {
        if (!models.has(ref)) {
          const path = i === 0 ? ["prompts", op, "versions", v, "model"] : ["prompts", op, "versions", v, "fallback", i - 1];
          ctx.addIssue({ code: "custom", path, message: `unknown model "${ref}" (known: ${[...models].join(", ")})` });
        }
      }
    }
    let total = 0;
    for (const [v, w] of Object.entries(p.split)) {
      total += w;
      if (!p.versions[v]) ctx.addIssue({ code: "custom", path: ["prompts", op, "split", v], message: `split names unknown version "${v}"` });
    }
    if (total <= 0) ctx.addIssue({ code: "custom", path: ["prompts", op, "split"], message: "split weights must sum to more than 0" });
  }
});

/** Resolved gateway configuration (all defaults applied). */
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
/** One provider's resolved settings. */
export type ProviderConfig = z.infer<typeof providerSchema>;
/** One model's resolved settings. */
export type ModelConfig = z.infer<typeof modelSchema>;
/** One prompt (all its versions and the split). */
export type PromptConfig = z.infer<typeof promptSchema>;
/** One prompt version. */
export type PromptVersionConfig = z.infer<typeof promptVersionSchema>;
