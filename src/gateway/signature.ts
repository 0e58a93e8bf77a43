import { createHash } from "node:crypto";
import type { MetricWindow } from "../ports/gateway.js";
import { normaliseText, shapeCode } from "../domain/pattern-shape.js";
import type { SignatureOptions } from "../domain/pattern-shape.js";

export { normaliseText, shapeCode } from "../domain/pattern-shape.js";
export type { SignatureOptions } from "../domain/pattern-shape.js";

/** Parts that make up a cache key; `null`/absent parts are skipped. */
export interface SignatureParts {
  readonly op: string;
  /** `<prompt>@<version>` and model key: a new prompt version or model never reuses old answers. */
  readonly promptVersion: string;
  readonly model: string;
  readonly window?: MetricWindow;
  /** Extra normalised-at-source discriminators (score bucket, context, text). */
  readonly extra?: readonly string[];
}

/** Normalised pattern signature (hex sha-256 prefix) of a request: the cache key. */
export function patternSignature(parts: SignatureParts, opts: SignatureOptions): string {
  const h = createHash("sha256");
  h.update(`${parts.op}\u0000${parts.promptVersion}\u0000${parts.model}\u0000`);
  if (parts.window) h.update(`${normaliseText(parts.window.metric)}\u0000${shapeCode(parts.window.values, opts)}\u0000`);
  for (const e of parts.extra ?? []) h.update(`${e}\u0000`);
  return h.digest("hex").slice(0, 32);
}

/** Normalised context map as one string (sorted keys, normalised values). */
export function normaliseContext(ctx: Readonly<Record<string, string>> | undefined): string {
  if (!ctx) return "";
  return Object.keys(ctx)
    .sort()
    .map((k) => `${k}=${normaliseText(ctx[k]!)}`)
    .join(";");
}
