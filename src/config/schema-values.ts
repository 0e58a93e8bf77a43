import { z } from "zod";
import { DURATION_HINT, SIZE_HINT, parseDuration, parseSize } from "../base/units.js";

/** Value types of the configuration schema (src/config/schema.ts): durations, sizes, URLs, counts. */

/** A duration: number of ms or "250ms" | "2s" | "5m" | "1h" | "7d"; output: whole ms. */
export function duration(def: string) {
  return z
    .unknown()
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({
          code: "custom",
          message:
            typeof v === "string" || typeof v === "number"
              ? `invalid duration ${JSON.stringify(v)} (${DURATION_HINT})`
              : `expected a duration, got ${typeName(v)}`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .prefault(def);
}

/** A size: number of bytes or "512B" | "16KiB" | "1MiB" | "1GiB"; output: whole bytes. */
export function size(def: string) {
  return z
    .unknown()
    .transform((v, ctx) => {
      const bytes = parseSize(v);
      if (bytes === undefined) {
        ctx.addIssue({
          code: "custom",
          message:
            typeof v === "string" || typeof v === "number"
              ? `invalid size ${JSON.stringify(v)} (${SIZE_HINT})`
              : `expected a size, got ${typeName(v)}`,
        });
        return z.NEVER;
      }
      return bytes;
    })
    .prefault(def);
}

/** A URL (or, with `list`, a comma-separated list of URLs) whose protocol is one of `protocols`. */
export function url(protocols: readonly string[], opts: { list?: boolean } = {}) {
  const names = protocols.map((p) => `${p}:`);
  const rule =
    names.length === 1 ? names[0]! : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]!}`;
  return z.string().refine(
    (v) => (opts.list ? v.split(",") : [v]).every((one) => isUrl(one.trim(), names)),
    // Never echo the value: URLs may carry credentials.
    { message: `must be a URL with protocol ${rule}` },
  );
}

function isUrl(v: string, protocols: readonly string[]): boolean {
  try {
    const u = new URL(v);
    return protocols.includes(u.protocol) && u.host !== "";
  } catch {
    return false;
  }
}

/** Name of the type of `v` as used in validation messages. */
export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "mapping";
  return typeof v;
}

export const posInt = () => z.int().min(1);

/** A duration within [minMs, maxMs]; `rule` is the exact message when outside. */
export function durationIn(def: string, minMs: number, maxMs: number, rule: string) {
  return duration(def).refine((ms) => ms >= minMs && ms <= maxMs, { message: rule });
}

/** A size between `min` and `max` bytes (`rule` is the message otherwise). */
export function sizeIn(def: string, min: number, max: number, rule: string) {
  return size(def).refine((b) => b >= min && b <= max, { message: rule });
}
