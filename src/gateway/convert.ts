import { create } from "@bufbuild/protobuf";
import * as pb from "../gen/shoal/v1/gateway_pb.js";
import type * as port from "../ports/gateway.js";
import { InvalidRequestError } from "./errors.js";

/** Mapping between the protobuf messages of shoal.v1 and the plain types of the gateway port. */

export function windowFromPb(w: pb.MetricWindow | undefined): port.MetricWindow {
  if (!w) throw new InvalidRequestError("window is required");
  return w.tsMs.length === 0 ? { deviceId: w.deviceId, metric: w.metric, values: w.values } : { deviceId: w.deviceId, metric: w.metric, values: w.values, tsMs: w.tsMs.map(Number) };
}

export function windowToPb(w: port.MetricWindow): pb.MetricWindow {
  return create(pb.MetricWindowSchema, { deviceId: w.deviceId, metric: w.metric, values: [...w.values], tsMs: (w.tsMs ?? []).map((t) => BigInt(Math.trunc(t))) });
}

export function modelToPb(m: port.ModelInfo): pb.ModelInfo {
  return create(pb.ModelInfoSchema, {
    provider: m.provider,
    model: m.model,
    promptVersion: m.promptVersion,
    cached: m.cached,
    inputTokens: m.inputTokens,
    outputTokens: m.outputTokens,
    costUsd: m.costUsd,
    degraded: m.degraded,
    degradedReason: m.degradedReason ?? "",
    attempts: m.attempts,
    signature: m.signature,
  });
}

export function modelFromPb(m: pb.ModelInfo | undefined): port.ModelInfo {
  return {
    provider: m?.provider ?? "",
    model: m?.model ?? "",
    promptVersion: m?.promptVersion ?? "",
    cached: m?.cached ?? false,
    inputTokens: m?.inputTokens ?? 0,
    outputTokens: m?.outputTokens ?? 0,
    costUsd: m?.costUsd ?? 0,
    degraded: m?.degraded ?? false,
    degradedReason: (m?.degradedReason || undefined) as port.DegradedReason | undefined,
    attempts: m?.attempts ?? 0,
    signature: m?.signature ?? "",
  };
}

export const scoreReqFromPb = (r: pb.ScoreRequest): port.ScoreRequest => ({ window: windowFromPb(r.window) });
export const scoreReqToPb = (r: port.ScoreRequest): pb.ScoreRequest => create(pb.ScoreRequestSchema, { window: windowToPb(r.window) });
export const scoreResToPb = (r: port.ScoreResult): pb.ScoreResponse => create(pb.ScoreResponseSchema, { score: r.score, model: modelToPb(r.model) });
export const scoreResFromPb = (r: pb.ScoreResponse): port.ScoreResult => ({ score: r.score, model: modelFromPb(r.model) });

export const explainReqFromPb = (r: pb.ExplainRequest): port.ExplainRequest => ({ window: windowFromPb(r.window), score: r.score, context: r.context });
export const explainReqToPb = (r: port.ExplainRequest): pb.ExplainRequest =>
  create(pb.ExplainRequestSchema, { window: windowToPb(r.window), score: r.score, context: { ...(r.context ?? {}) } });
export const explainResToPb = (r: port.ExplainResult): pb.ExplainResponse =>
  create(pb.ExplainResponseSchema, { summary: r.summary, likelyCause: r.likelyCause, suggestedAction: r.suggestedAction, model: modelToPb(r.model) });
export const explainResFromPb = (r: pb.ExplainResponse): port.ExplainResult => ({
  summary: r.summary,
  likelyCause: r.likelyCause,
  suggestedAction: r.suggestedAction,
  model: modelFromPb(r.model),
});

export function embedReqFromPb(r: pb.EmbedRequest): port.EmbedRequest {
  const subject = r.subjectId ? { subjectId: r.subjectId } : {};
  if (r.input.case === "window") return { window: windowFromPb(r.input.value), ...subject };
  if (r.input.case === "text") return { text: r.input.value, ...subject };
  throw new InvalidRequestError("exactly one of text or window is required");
}
export const embedReqToPb = (r: port.EmbedRequest): pb.EmbedRequest =>
  create(pb.EmbedRequestSchema, {
    input: r.window !== undefined ? { case: "window", value: windowToPb(r.window) } : { case: "text", value: r.text },
    subjectId: r.subjectId ?? "",
  });
export const embedResToPb = (r: port.EmbedResult): pb.EmbedResponse => create(pb.EmbedResponseSchema, { vector: [...r.vector], model: modelToPb(r.model) });
export const embedResFromPb = (r: pb.EmbedResponse): port.EmbedResult => ({ vector: r.vector, model: modelFromPb(r.model) });

export const summarizeReqFromPb = (r: pb.SummarizeRequest): port.SummarizeRequest => ({ title: r.title, items: r.items, ...(r.subjectId ? { subjectId: r.subjectId } : {}) });
export const summarizeReqToPb = (r: port.SummarizeRequest): pb.SummarizeRequest =>
  create(pb.SummarizeRequestSchema, { title: r.title, items: [...r.items], subjectId: r.subjectId ?? "" });
export const summarizeResToPb = (r: port.SummarizeResult): pb.SummarizeResponse => create(pb.SummarizeResponseSchema, { summary: r.summary, model: modelToPb(r.model) });
export const summarizeResFromPb = (r: pb.SummarizeResponse): port.SummarizeResult => ({ summary: r.summary, model: modelFromPb(r.model) });
