import { ABOVE, BELOW, NO_DATA, OFFLINE, SCORE } from "./rules.js";
import type { CompiledRule } from "./rules.js";

/** The one-line summaries of alert transitions (deterministic: no locale, no clock). */

/** A number for humans: integers as they are, others to 4 significant digits. */
export function fmtNum(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** A duration like Go's: "500ms", "45s", "5m0s", "1h2m3s", "1m1.5s". */
export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return `${ms}ms`;
  if (ms < 1000) return `${fmtNum(ms)}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms - h * 3_600_000) / 60_000);
  const s = fmtNum((ms - h * 3_600_000 - m * 60_000) / 1000);
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

/** Why a rule raises: `score 0.97 ≥ 0.9 on temp`, `temp 42 ≥ 40`, `no hum for 5m0s`, `offline`. */
export function raiseSummary(r: CompiledRule, v: number, metric: string): string {
  switch (r.code) {
    case SCORE:
      return `score ${fmtNum(v)} ≥ ${fmtNum(r.raiseAt)}${metric === "" ? "" : ` on ${metric}`}`;
    case ABOVE:
      return `${r.metric} ${fmtNum(v)} ≥ ${fmtNum(r.raiseAt)}`;
    case BELOW:
      return `${r.metric} ${fmtNum(v)} ≤ ${fmtNum(r.raiseAt)}`;
    case NO_DATA:
      return `no ${r.metric} for ${fmtDuration(v)}`;
    default:
      return "offline";
  }
}

/** Why a rule clears: `score 0.3 < 0.5 on temp`, `temp 38 < 39`, `hum back`, `online again`. */
export function clearSummary(r: CompiledRule, v: number, metric: string): string {
  switch (r.code) {
    case SCORE:
      return `score ${fmtNum(v)} < ${fmtNum(r.clearAt)}${metric === "" ? "" : ` on ${metric}`}`;
    case ABOVE:
      return `${r.metric} ${fmtNum(v)} < ${fmtNum(r.clearAt)}`;
    case BELOW:
      return `${r.metric} ${fmtNum(v)} > ${fmtNum(r.clearAt)}`;
    case NO_DATA:
      return `${r.metric} back`;
    case OFFLINE:
    default:
      return "online again";
  }
}

/** A flapping alert: `flapping: 4 changes in 10m0s (score 0.95 ≥ 0.9 on temp)`. */
export function flapSummary(r: CompiledRule, changes: number, why: string): string {
  return `flapping: ${changes} changes in ${fmtDuration(r.flapWindowMs)} (${why})`;
}
