import { z } from "zod";
import type { Explanation, MetricWindow, ProviderCall } from "../ports/gateway.js";
import type { PromptVersionConfig } from "../config/schema-gateway.js";
import { InvalidOutputError } from "./errors.js";
import { fmt, renderTemplate } from "./prompts.js";
import { windowStats } from "../domain/window-stats.js";

/**
 * Prompt rendering and output parsing for LLM-backed operations: turns requests into
 * ProviderCalls (with JSON schemas for structured output) and model text back into results.
 */

/** Most window values rendered into a prompt (the most recent ones). */
const MAX_PROMPT_VALUES = 64;

/** Template variables of a window: deviceId, metric, values, last, median, min, max, deviation, n. */
export function windowVars(w: MetricWindow): Record<string, string | number> {
  const s = windowStats(w.values);
  return {
    deviceId: w.deviceId,
    metric: w.metric,
    values: w.values.slice(-MAX_PROMPT_VALUES).map(fmt).join(", "),
    n: s.n,
    last: fmt(s.last),
    median: fmt(s.median),
    min: fmt(s.min),
    max: fmt(s.max),
    deviation: fmt(s.lastZ),
  };
}

export const explanationJsonSchema = {
  name: "explanation",
  schema: {
    type: "object",
    properties: {
      summary: { type: "string", description: "One or two sentences: what happened." },
      likelyCause: { type: "string" },
      suggestedAction: { type: "string" },
    },
    required: ["summary", "likelyCause", "suggestedAction"],
    additionalProperties: false,
  },
} as const;

export const scoreJsonSchema = {
  name: "anomaly_score",
  schema: { type: "object", properties: { score: { type: "number", minimum: 0, maximum: 1 } }, required: ["score"], additionalProperties: false },
} as const;

const explanationShape = z.object({ summary: z.string().min(1), likelyCause: z.string(), suggestedAction: z.string() });
const scoreShape = z.object({ score: z.number().min(0).max(1) });

/** A provider call without its signal (added by the lane per attempt). */
export type CallSpec = Omit<ProviderCall, "signal">;

function base(pv: PromptVersionConfig, model: string, user: string): CallSpec {
  return { model, system: pv.system, user, temperature: pv.temperature, maxTokens: pv.maxTokens };
}

export function explainCall(pv: PromptVersionConfig, model: string, w: MetricWindow, score: number, context?: Readonly<Record<string, string>>): CallSpec {
  const ctx = context ? Object.entries(context).map(([k, v]) => `${k}: ${v}`).join("\n") : "";
  const user = renderTemplate(pv.user, { ...windowVars(w), score: fmt(score), context: ctx || "(none)" });
  return { ...base(pv, model, user), jsonSchema: explanationJsonSchema as unknown as ProviderCall["jsonSchema"] };
}

export function scoreCall(pv: PromptVersionConfig, model: string, w: MetricWindow): CallSpec {
  return { ...base(pv, model, renderTemplate(pv.user, windowVars(w))), jsonSchema: scoreJsonSchema as unknown as ProviderCall["jsonSchema"] };
}

export function summarizeCall(pv: PromptVersionConfig, model: string, title: string, items: readonly string[]): CallSpec {
  return { ...base(pv, model, renderTemplate(pv.user, { title, count: items.length, items: items.map((i) => `- ${i}`).join("\n") })) };
}

/** Parse the first JSON object in `text` (tolerates code fences and prose around it). */
export function extractJson(text: string): unknown {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start < 0 || end <= start) throw new InvalidOutputError("model output contains no JSON object");
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch (e) {
    throw new InvalidOutputError("model output is not valid JSON", { cause: e });
  }
}

export function parseExplanation(text: string): Explanation {
  const r = explanationShape.safeParse(extractJson(text));
  if (!r.success) throw new InvalidOutputError(`explanation does not match its schema: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return r.data;
}

export function parseScore(text: string): number {
  const r = scoreShape.safeParse(extractJson(text));
  if (!r.success) throw new InvalidOutputError(`score does not match its schema: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return r.data.score;
}
