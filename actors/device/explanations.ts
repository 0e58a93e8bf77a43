/**
 * Explanations of anomalies: the device actor asks the model gateway (and, first, its own cache)
 * and turns the answer into an event and an `analyses` row. Effects only through the context.
 */
import type { ActorContext } from "../../src/ports/actor.js";
import type { ExplainResult } from "../../src/ports/gateway.js";
import { analysisSubject } from "../../src/domain/subjects.js";
import { ANALYSES_TABLE } from "../../src/domain/tables.js";
import { formatReasons, reasonsToJson } from "../../src/domain/anomaly-reasons.js";
import { normaliseText, shapeCode } from "../../src/domain/pattern-shape.js";
import type { AnomalyReason } from "../../src/domain/anomaly-reasons.js";
import type { CacheGetRequest, CacheGetResult, DeviceExplainRequest, DeviceMsg, ExplanationEvent } from "./device.messages.js";
import { CACHE_SERVICE } from "./device.messages.js";
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

/** The anomaly that opened an incident: its reading (a counterless device's readings all have seq 0, so the time too). */
export interface IncidentRef {
  readonly epoch: number;
  readonly seq: number;
  readonly tsMs: number;
}

/** Resolution of the pattern signature used as the cache key (the gateway's default). */
const SIGNATURE = { segments: 8, levels: 3 } as const;

/**
 * Asks for the explanation of the anomaly `at` whose recent values are `window`: with `useCache`,
 * the actor's own cache first (the same shape seen before gets the same explanation) and the
 * gateway on a miss; else the gateway. The answer arrives later as a message.
 */
export function askExplanation(ctx: ActorContext<DeviceMsg>, at: AnomalyRef, window: DeviceExplainRequest["window"], value: number, log: string | undefined, useCache: boolean): void {
  const req: DeviceExplainRequest = {
    window,
    score: at.score,
    context: { seq: String(at.seq), value: String(value), reasons: formatReasons(at.reasons), ...(log ? { log } : {}) },
  };
  if (!useCache) return callExplain(ctx, at, req, undefined);
  const key = `${normaliseText(at.metric)}|${shapeCode(window.values, SIGNATURE)}`;
  ctx.call<CacheGetRequest, CacheGetResult>(
    CACHE_SERVICE,
    "get",
    { key },
    (res) => ({ type: "explain-cache-reply", ...at, key, request: req, cached: asExplainResult(res?.value) }),
    () => ({ type: "explain-cache-reply", ...at, key, request: req, cached: null }),
  );
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
  writeAnalysis(state, ctx, at, { ...ev, costUsd: fromActorCache ? 0 : x.model.costUsd }, at);
}

/** What an `analyses` row holds beyond its anomaly: the explanation (as its event says it) and what it cost. */
type Answer = Pick<ExplanationEvent, "summary" | "likelyCause" | "suggestedAction" | "provider" | "model" | "promptVersion" | "cached" | "degraded"> & { readonly costUsd: number };

/** An anomaly that joined an open incident: no model answered it, nothing was paid. */
const JOINED: Answer = { summary: "", likelyCause: "", suggestedAction: "", provider: "shoal", model: "incident", promptVersion: "", cached: false, degraded: false, costUsd: 0 };

/**
 * The `analyses` row of an anomaly that joined the open incident `incident` (the anomaly that
 * opened it): its own score and reasons, no explanation (the incident is explained once, with its
 * first anomaly), cost 0. Readers tell it by its incident differing from its own (epoch, seq, and
 * ts_ms when seq is 0).
 */
export function recordJoined(state: DeviceState, ctx: ActorContext<DeviceMsg>, at: AnomalyRef, incident: IncidentRef): void {
  writeAnalysis(state, ctx, at, JOINED, incident);
}

/** One `analyses` row (columns in the table's order: src/domain/tables.ts). */
function writeAnalysis(state: DeviceState, ctx: ActorContext<DeviceMsg>, at: AnomalyRef, a: Answer, incident: IncidentRef): void {
  ctx.write(ANALYSES_TABLE, {
    device_id: state.id,
    epoch: at.epoch,
    seq: at.seq,
    ts_ms: at.tsMs,
    metric: at.metric,
    score: at.score,
    summary: a.summary,
    likely_cause: a.likelyCause,
    suggested_action: a.suggestedAction,
    provider: a.provider,
    model: a.model,
    prompt_version: a.promptVersion,
    cached: a.cached ? 1 : 0,
    degraded: a.degraded ? 1 : 0,
    cost_usd: a.costUsd,
    reasons: reasonsToJson(at.reasons),
    incident_epoch: incident.epoch,
    incident_seq: incident.seq,
    incident_ts_ms: incident.tsMs,
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

