/**
 * Explanations of anomalies: the device actor asks the model gateway (and, first, its own cache)
 * and turns the answer into an event and an `analyses` row. Effects only through the context.
 */
import type { ActorContext } from "../../src/ports/actor.js";
import type { ExplainResult } from "../../src/ports/gateway.js";
import { analysisSubject } from "../../src/domain/subjects.js";
import { ANALYSES_TABLE } from "../../src/domain/tables.js";
import { reasonsToJson } from "../../src/domain/anomaly-reasons.js";
import type { AnomalyReason } from "../../src/domain/anomaly-reasons.js";
import type { DeviceExplainRequest, DeviceMsg, ExplanationEvent } from "./device.messages.js";
import type { DeviceState } from "./device-state.js";

/** Service name of the model gateway for ctx.call. */
export const GATEWAY = "gateway";

/** Where an explanation belongs: the anomaly's reading and metric. */
export interface AnomalyRef {
  readonly epoch: number;
  readonly seq: number;
  readonly tsMs: number;
  readonly metric: string;
  readonly score: number;
  readonly reasons: readonly AnomalyReason[];
}

/** Asks the gateway to explain; with `cacheKey`, the reply is stored in the actor's cache too. */
export function callExplain(ctx: ActorContext<DeviceMsg>, at: AnomalyRef, req: DeviceExplainRequest, cacheKey: string | undefined): void {
  ctx.call<DeviceExplainRequest, ExplainResult>(
    GATEWAY,
    "explain",
    req,
    (result) => ({ type: "explanation", ...at, result, ...(cacheKey !== undefined ? { cacheKey } : {}) }),
    (err) => ({ type: "explanation-failed", seq: at.seq, metric: at.metric, error: err.message }),
  );
}

/**
 * Event on shoal.analysis.<device> and a row in `analyses`. `fromActorCache`: served from the
 * actor's cache (marked cached, cost 0: the model call was paid when the answer was stored).
 */
export function emitExplanation(state: DeviceState, ctx: ActorContext<DeviceMsg>, at: AnomalyRef, x: ExplainResult, fromActorCache: boolean): void {
  const cached = fromActorCache || x.model.cached;
  const ev: ExplanationEvent = {
    kind: "explanation",
    deviceId: state.id,
    epoch: at.epoch,
    seq: at.seq,
    metric: at.metric,
    score: at.score,
    summary: x.summary,
    likelyCause: x.likelyCause,
    suggestedAction: x.suggestedAction,
    provider: x.model.provider,
    model: x.model.model,
    promptVersion: x.model.promptVersion,
    cached,
    degraded: x.model.degraded,
  };
  ctx.emit(analysisSubject(state.id), ev);
  ctx.write(ANALYSES_TABLE, {
    device_id: state.id,
    epoch: at.epoch,
    seq: at.seq,
    ts_ms: at.tsMs,
    metric: at.metric,
    score: at.score,
    summary: x.summary,
    likely_cause: x.likelyCause,
    suggested_action: x.suggestedAction,
    provider: x.model.provider,
    model: x.model.model,
    prompt_version: x.model.promptVersion,
    cached: cached ? 1 : 0,
    degraded: x.model.degraded ? 1 : 0,
    cost_usd: fromActorCache ? 0 : x.model.costUsd,
    reasons: reasonsToJson(at.reasons),
  });
}

/** The cached value when it looks like an ExplainResult (a cache may hold anything), else null. */
export function asExplainResult(v: unknown): ExplainResult | null {
  if (typeof v !== "object" || v === null) return null;
  const x = v as Partial<ExplainResult>;
  const m = x.model as Partial<ExplainResult["model"]> | undefined;
  const ok =
    typeof x.summary === "string" &&
    typeof x.likelyCause === "string" &&
    typeof x.suggestedAction === "string" &&
    typeof m === "object" &&
    m !== null &&
    typeof m.provider === "string" &&
    typeof m.model === "string" &&
    typeof m.promptVersion === "string" &&
    typeof m.degraded === "boolean";
  return ok ? (v as ExplainResult) : null;
}

