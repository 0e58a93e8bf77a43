import type { Clock } from "../ports/clock.js";
import type {
  CallOptions,
  EmbedRequest,
  EmbedResult,
  ExplainRequest,
  ExplainResult,
  MetricWindow,
  GatewayOp,
  ModelGateway,
  ModelProvider,
  ScoreRequest,
  ScoreResult,
  SummarizeRequest,
  SummarizeResult,
} from "../ports/gateway.js";
import { PatternCache, createMemoryStore } from "./cache.js";
import type { CacheStore } from "./cache.js";
import type { Random } from "./clock.js";
import { systemClock } from "../base/clock.js";
import type { GatewayConfig } from "../config/schema-gateway.js";
import { Budget } from "./cost.js";
import { SharedBudget } from "./shared-budget.js";
import type { BudgetLedger, SpendStore } from "./shared-budget.js";
import { createEmbedBatchers } from "./embed-batchers.js";
import { LlmRunner } from "./llm-runner.js";
import type { Answer } from "./llm-runner.js";
import type { LocalModels } from "./providers/local.js";
import { createLocalModels } from "./providers/local.js";
import type { GatewayMetrics } from "./metrics.js";
import { ProviderLane } from "./provider-lane.js";
import { selectPrompt } from "./prompts.js";
import type { PromptRoute } from "./prompts.js";
import { operationSpans } from "./operation-spans.js";
import type { Tracing } from "../ports/tracing.js";
import { explainPlan, scorePlan, summarizePlan } from "./plans.js";
import { normaliseContext, normaliseText, patternSignature } from "./signature.js";
import { validateEmbed, validateExplain, validateSummarize, validateWindow } from "./validate.js";

/** Dependencies of the gateway service; only `config` is required. */
export interface GatewayDeps {
  readonly config: GatewayConfig;
  /** Remote providers by id (as named in `config.providers`), built by the composition root. */
  readonly providers?: ReadonlyMap<string, ModelProvider>;
  /** Answer cache (Keyv memory/Redis). Default: a bounded in-process map. */
  readonly cache?: CacheStore;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly metrics?: GatewayMetrics;
  readonly local?: LocalModels;
  /**
   * Where the LLM spend of all gateway replicas is kept (Redis, when the cache is Redis and
   * `budget.shared` is on). Without it the budget is per process.
   */
  readonly spendStore?: SpendStore;
  /** Called when the shared spend store fails (the budget then runs on this process's view). */
  readonly onSpendStoreError?: (err: unknown) => void;
  /** Spans of traced requests (a caller's `traceparent`): one per operation, one per upstream call. */
  readonly tracing?: Tracing;
}

/** The gateway service: the ModelGateway port plus batch scoring, live config and introspection. */
export interface GatewayService extends ModelGateway {
  /** Score many windows; an invalid item yields an Error in its slot instead of failing the batch. */
  scoreBatch(reqs: readonly ScoreRequest[], opts?: CallOptions): Promise<Array<ScoreResult | Error>>;
  /** Apply a new resolved config (prompts, models, budget, provider limits) without restart. */
  setConfig(cfg: GatewayConfig): void;
  stats(): GatewayStats;
  close(): Promise<void>;
}

export interface GatewayStats {
  readonly budget: { readonly spentUsd: number; readonly remainingUsd: number; readonly refused: number };
  readonly coalesced: number;
  readonly providers: Record<string, ReturnType<ProviderLane["stats"]>>;
}

const deadlineKey: Record<GatewayOp, "scoreMs" | "explainMs" | "embedMs" | "summarizeMs"> = { score: "scoreMs", explain: "explainMs", embed: "embedMs", summarize: "summarizeMs" };

/** Build the gateway service. Pure wiring; no I/O until a request needs a remote provider. */
export function createGateway(deps: GatewayDeps): GatewayService {
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const metrics = deps.metrics;
  const local = deps.local ?? createLocalModels();
  let cfg = deps.config;
  let scoreLocalOnly = isLocalOnly(cfg, "score");
  const cache = new PatternCache(deps.cache ?? createMemoryStore(clock), { ttlMs: cfg.cache.ttlMs, opTimeoutMs: cfg.cache.opTimeoutMs, clock });
  const newBudget = (c: GatewayConfig): BudgetLedger =>
    deps.spendStore && c.budget.shared
      ? new SharedBudget({ usdPerPeriod: c.budget.usdPerPeriod, periodMs: c.budget.periodMs, clock, store: deps.spendStore, prefix: c.cache.namespace, onError: deps.onSpendStoreError, opTimeoutMs: c.cache.opTimeoutMs })
      : new Budget({ usdPerPeriod: c.budget.usdPerPeriod, periodMs: c.budget.periodMs, clock });
  let budget = newBudget(cfg);
  const lanes = new Map<string, { lane: ProviderLane; cfgJson: string }>();

  const lane = (id: string): ProviderLane | undefined => {
    const pc = cfg.providers[id];
    const provider = deps.providers?.get(id);
    if (!pc || !provider || pc.kind === "local") return undefined;
    const json = JSON.stringify(pc);
    const cur = lanes.get(id);
    if (cur && cur.cfgJson === json) return cur.lane;
    const l = new ProviderLane(provider, pc, { clock, random, metrics });
    lanes.set(id, { lane: l, cfgJson: json });
    return l;
  };
  const runner = new LlmRunner({ clock, cache, budget: () => budget, metrics, config: () => cfg, lane, tracing: deps.tracing });
  const traced = operationSpans(deps.tracing);
  const embedBatchers = createEmbedBatchers({ clock, config: () => cfg });
  metrics?.budgetRemainingUsd.set(budget.remaining);

  const deadline = (op: GatewayOp, opts?: CallOptions) => opts?.deadlineMs ?? clock.now() + cfg.deadlines[deadlineKey[op]];
  const sigOpts = () => ({ segments: cfg.cache.segments, levels: cfg.cache.levels });
  const withModel = <T extends object>(a: Answer<T>) => ({ ...a.value, model: a.model });

  // Hot path: local scores skip cache and signature (computing is cheaper than looking up).
  const localInfos = new Map<string, ScoreResult["model"]>();
  const localScoreCounter = metrics?.requests.labels({ op: "score", provider: "local", model: "local", outcome: "ok" });
  const localScoreNoCount = (w: MetricWindow, route: PromptRoute): ScoreResult => {
    let info = localInfos.get(route.promptVersion);
    if (!info) localInfos.set(route.promptVersion, (info = Object.freeze({ ...localInfoBase, promptVersion: route.promptVersion })));
    return { score: local.score(w), model: info };
  };
  const localScore = (w: MetricWindow, route: PromptRoute): ScoreResult => {
    localScoreCounter?.inc();
    return localScoreNoCount(w, route);
  };

  const scoreOne = async (req: ScoreRequest, opts?: CallOptions): Promise<ScoreResult> => {
    const w = validateWindow(req.window);
    const route = selectPrompt(cfg, "score", w.deviceId);
    if (scoreLocalOnly) return localScore(w, route);
    if (route.chain[0] === "local") return toScore(runner.localAnswer("score", route, local.score(w), ""));
    const sig = patternSignature({ op: "score", promptVersion: route.promptVersion, model: route.chain[0]!, window: w }, sigOpts());
    return toScore(await runner.run("score", route, sig, scorePlan(route, w), () => local.score(w), deadline("score", opts)));
  };

  const explain = async (req: ExplainRequest, opts: CallOptions | undefined, trace: string | undefined): Promise<ExplainResult> => {
    validateExplain(req);
    const w = req.window;
    const route = selectPrompt(cfg, "explain", w.deviceId);
    const localValue = () => local.explain(w, req.score, req.context);
    if (route.chain[0] === "local") return withModel(runner.localAnswer("explain", route, localValue(), ""));
    const gate = budget.pressure >= cfg.budget.softLimitFraction ? Math.max(cfg.gate.explainMinScore, cfg.budget.softMinScore) : cfg.gate.explainMinScore;
    if (req.score < gate) return withModel(runner.localAnswer("explain", route, localValue(), "", "gated"));
    const sig = patternSignature(
      { op: "explain", promptVersion: route.promptVersion, model: route.chain[0]!, window: w, extra: [String(Math.min(3, Math.floor(req.score * 4))), normaliseContext(req.context)] },
      sigOpts(),
    );
    return withModel(await runner.run("explain", route, sig, explainPlan(route, w, req.score, req.context), localValue, deadline("explain", opts), trace));
  };

  const embed = async (req: EmbedRequest, opts: CallOptions | undefined, trace: string | undefined): Promise<EmbedResult> => {
    validateEmbed(req);
    if (req.window !== undefined) {
      // Window vectors are numeric features (same space for every device), always computed locally.
      const route = selectPrompt(cfg, "embed", req.subjectId ?? req.window.deviceId);
      return toEmbed(runner.localAnswer("embed", route, local.embedWindow(req.window), ""));
    }
    const text = req.text;
    const route = selectPrompt(cfg, "embed", req.subjectId ?? text);
    if (route.chain[0] === "local") return toEmbed(runner.localAnswer("embed", route, local.embedText(text), ""));
    const sig = patternSignature({ op: "embed", promptVersion: route.promptVersion, model: route.chain[0]!, extra: [text] }, sigOpts());
    return toEmbed(await runner.run("embed", route, sig, embedBatchers.plan(text), () => local.embedText(text), deadline("embed", opts), trace));
  };

  const summarize = async (req: SummarizeRequest, opts: CallOptions | undefined, trace: string | undefined): Promise<SummarizeResult> => {
    validateSummarize(req);
    const route = selectPrompt(cfg, "summarize", req.subjectId ?? req.title);
    const localValue = () => local.summarize(req.title, req.items);
    if (route.chain[0] === "local") return toSummary(runner.localAnswer("summarize", route, localValue(), ""));
    const sig = patternSignature(
      { op: "summarize", promptVersion: route.promptVersion, model: route.chain[0]!, extra: [normaliseText(req.title), ...req.items.map(normaliseText)] },
      sigOpts(),
    );
    return toSummary(await runner.run("summarize", route, sig, summarizePlan(route, req.title, req.items), localValue, deadline("summarize", opts), trace));
  };


  const service: GatewayService = {
    score: scoreOne,

    async scoreBatch(reqs, opts) {
      if (scoreLocalOnly) {
        const out = new Array<ScoreResult | Error>(reqs.length);
        for (let i = 0; i < reqs.length; i++) {
          try {
            const w = validateWindow(reqs[i]!.window);
            out[i] = localScoreNoCount(w, selectPrompt(cfg, "score", w.deviceId));
          } catch (e) {
            out[i] = e as Error;
          }
        }
        localScoreCounter?.inc(reqs.length); // one metric update per batch, not per item
        return out;
      }
      return Promise.all(reqs.map((r) => scoreOne(r, opts).catch((e: unknown) => e as Error)));
    },

    explain: (req: ExplainRequest, opts?: CallOptions): Promise<ExplainResult> => traced("explain", opts?.traceparent, (trace) => explain(req, opts, trace)),
    embed: (req: EmbedRequest, opts?: CallOptions): Promise<EmbedResult> => traced("embed", opts?.traceparent, (trace) => embed(req, opts, trace)),
    summarize: (req: SummarizeRequest, opts?: CallOptions): Promise<SummarizeResult> => traced("summarize", opts?.traceparent, (trace) => summarize(req, opts, trace)),

    setConfig(parsed) {
      const budgetChanged =
        parsed.budget.usdPerPeriod !== cfg.budget.usdPerPeriod || parsed.budget.periodMs !== cfg.budget.periodMs || parsed.budget.shared !== cfg.budget.shared;
      cfg = parsed;
      scoreLocalOnly = isLocalOnly(cfg, "score");
      if (budgetChanged) {
        const old = budget;
        budget = newBudget(cfg);
        // Carry the period's spend over so a budget change cannot reset it (a shared ledger keeps
        // it in the store already).
        if (budget instanceof Budget && old.spent > 0) budget.reserve(0).settle(Math.min(old.spent, cfg.budget.usdPerPeriod));
      }
    },

    stats() {
      const providers: GatewayStats["providers"] = {};
      for (const [id, { lane: l }] of lanes) providers[id] = l.stats();
      return { budget: { spentUsd: budget.spent, remainingUsd: budget.remaining, refused: budget.refused }, coalesced: runner.coalesced, providers };
    },

    async close() {
      embedBatchers.flushAll();
      await Promise.all([...(deps.providers?.values() ?? [])].map((p) => p.close?.()));
    },
  };
  return service;
}

const localInfoBase = Object.freeze({ provider: "local", model: "local", promptVersion: "", cached: false, inputTokens: 0, outputTokens: 0, costUsd: 0, degraded: false, attempts: 0, signature: "" });

function isLocalOnly(cfg: GatewayConfig, op: GatewayOp): boolean {
  return Object.values(cfg.prompts[op].versions).every((v) => v.model === "local");
}

const toScore = (a: Answer<number>): ScoreResult => ({ score: a.value, model: a.model });
const toEmbed = (a: Answer<number[]>): EmbedResult => ({ vector: a.value, model: a.model });
const toSummary = (a: Answer<string>): SummarizeResult => ({ summary: a.value, model: a.model });
export type { PromptRoute };
