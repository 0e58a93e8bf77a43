import type { EmbedRequest, ExplainRequest, MetricWindow, SummarizeRequest } from "../ports/gateway.js";
import { InvalidRequestError } from "./errors.js";

/** Most values in one window. */
export const MAX_WINDOW = 10_000;
/** Longest text to embed or item to summarise, in characters. */
export const MAX_TEXT = 32_000;

/** Check a window; throws InvalidRequestError naming the field and the rule. */
export function validateWindow(w: MetricWindow | undefined, field = "window"): MetricWindow {
  if (!w) throw new InvalidRequestError(`${field} is required`);
  if (typeof w.deviceId !== "string" || w.deviceId.length === 0 || w.deviceId.length > 128) throw new InvalidRequestError(`${field}.deviceId must be 1..128 characters`);
  if (typeof w.metric !== "string" || w.metric.length === 0 || w.metric.length > 128) throw new InvalidRequestError(`${field}.metric must be 1..128 characters`);
  const n = w.values?.length ?? 0;
  if (n === 0) throw new InvalidRequestError(`${field}.values must not be empty`);
  if (n > MAX_WINDOW) throw new InvalidRequestError(`${field}.values has ${n} values; the limit is ${MAX_WINDOW}`);
  for (let i = 0; i < n; i++) {
    const v = w.values[i];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new InvalidRequestError(`${field}.values[${i}] must be a finite number, got ${String(v)}`);
  }
  if (w.tsMs && w.tsMs.length > 0 && w.tsMs.length !== n) throw new InvalidRequestError(`${field}.tsMs must be empty or have one entry per value (${n}), got ${w.tsMs.length}`);
  return w;
}

export function validateExplain(r: ExplainRequest): void {
  validateWindow(r.window);
  if (typeof r.score !== "number" || !(r.score >= 0 && r.score <= 1)) throw new InvalidRequestError(`score must be a number in [0, 1], got ${String(r.score)}`);
}

export function validateEmbed(r: EmbedRequest): void {
  if (r.window !== undefined) validateWindow(r.window);
  else if (typeof r.text !== "string" || r.text.length === 0) throw new InvalidRequestError("exactly one of text or window is required");
  else if (r.text.length > MAX_TEXT) throw new InvalidRequestError(`text has ${r.text.length} characters; the limit is ${MAX_TEXT}`);
}

export function validateSummarize(r: SummarizeRequest): void {
  if (typeof r.title !== "string") throw new InvalidRequestError("title must be a string");
  const total = r.items.reduce((s, i) => s + i.length, 0);
  if (total > MAX_TEXT * 4) throw new InvalidRequestError(`items total ${total} characters; the limit is ${MAX_TEXT * 4}`);
}
