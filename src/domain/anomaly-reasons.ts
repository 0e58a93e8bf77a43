/**
 * Why an anomaly fired: which metrics and which term of the detector contributed (issue 19,
 * docs/adr/0022-device-level-detection.md). Carried by the anomaly event, stored with the analysis
 * (`analyses.reasons`, JSON) and passed to the model gateway's Explain as context.
 */

/**
 * The term of the detector that produced a score:
 * - `range`: a value beyond everything seen (range novelty, following slow drift);
 * - `discord`: a shape not seen before (nearest-neighbour discord);
 * - `season`: a usual shape at an unusual time of day (seasonal discord);
 * - `level`: the level shifted (a step) and stayed, though no single value left the seen range;
 * - `joint`: the relation between the device's metrics broke (device-level model);
 * - `outlier`: a clear outlier while the detector is still warming up (rolling z-score).
 */
export type AnomalyTerm = "range" | "discord" | "season" | "level" | "joint" | "outlier";

/** One contribution to an anomaly: a metric, the term that scored it, and the score in [0, 1]. */
export interface AnomalyReason {
  readonly metric: string;
  readonly term: AnomalyTerm;
  readonly score: number;
}

/** Most reasons one anomaly carries (the strongest first). */
export const MAX_REASONS = 4;

/** Reasons as stored in `analyses.reasons` (a JSON array; "" for none). */
export function reasonsToJson(reasons: readonly AnomalyReason[] | undefined): string {
  return reasons === undefined || reasons.length === 0 ? "" : JSON.stringify(reasons.map((r) => ({ metric: r.metric, term: r.term, score: round4(r.score) })));
}

/** Reasons read back from `analyses.reasons`; anything unreadable gives none (old rows hold ""). */
export function reasonsFromJson(text: string): AnomalyReason[] {
  if (text === "") return [];
  try {
    const v: unknown = JSON.parse(text);
    if (!Array.isArray(v)) return [];
    return v.filter(isReason);
  } catch {
    return [];
  }
}

/** Reasons for a prompt or a log line: `temp: range 0.97; pressure: joint 0.91`. */
export function formatReasons(reasons: readonly AnomalyReason[]): string {
  return reasons.map((r) => `${r.metric}: ${r.term} ${round4(r.score).toFixed(2)}`).join("; ");
}

const TERMS: ReadonlySet<string> = new Set<AnomalyTerm>(["range", "discord", "season", "level", "joint", "outlier"]);

function isReason(v: unknown): v is AnomalyReason {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.metric === "string" && typeof r.term === "string" && TERMS.has(r.term) && typeof r.score === "number";
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
