import { invalid, time } from "../query/validate.js";

/**
 * Request validation of the AuditService: every bad argument is INVALID_ARGUMENT with a reason
 * naming the field (the query service's `invalid`, so every service reads alike).
 */

export { invalid, limit } from "../query/validate.js";

/** Longest actor name and action/target prefix a filter may give. */
export const MAX_FILTER_CHARS = 256;
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** [from, to): each optional (0 = unbounded), from < to when both. */
export function timeRange(from: bigint, to: bigint): { fromMs?: number; toMs?: number } {
  const fromMs = from === 0n ? undefined : time(from, "from_ms");
  const toMs = to === 0n ? undefined : time(to, "to_ms");
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) throw invalid("to_ms", "must be after from_ms");
  return { ...(fromMs !== undefined ? { fromMs } : {}), ...(toMs !== undefined ? { toMs } : {}) };
}

/** An actor name or a prefix: "" (any) or at most 256 characters without control characters. */
export function filterText(v: string, field: string): string {
  if (v.length > MAX_FILTER_CHARS) throw invalid(field, `longer than ${MAX_FILTER_CHARS} characters`);
  if (CONTROL_RE.test(v)) throw invalid(field, "must not contain control characters");
  return v;
}
