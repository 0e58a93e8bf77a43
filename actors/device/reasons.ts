/**
 * Why a reading's score reached the threshold (src/domain/anomaly-reasons.ts): the metrics at or
 * above it with the detector term that scored each (the kernel records the term of its last point),
 * and the metrics the device-level model holds responsible for a broken relation. Built only for
 * anomalies, so the common path pays nothing.
 */
import { S_N, S_TERM, TERM_LEVEL, TERM_RANGE, TERM_SEASON } from "../../src/detector/index.js";
import type { DetectorModel } from "../../src/detector/index.js";
import { MAX_REASONS } from "../../src/domain/anomaly-reasons.js";
import type { AnomalyReason, AnomalyTerm } from "../../src/domain/anomaly-reasons.js";
import type { DeviceState } from "./device-state.js";
import { H_DET, MH } from "./metric-store.js";

/** The term that scored metric `m`'s last value: before the detector's warm-up only clear outliers score. */
export function termOf(state: DeviceState, m: number, model: DetectorModel): AnomalyTerm {
  const h = state.base + m * MH + H_DET;
  if (state.f64[h + S_N]! <= model.params.warmup) return "outlier";
  const t = state.f64[h + S_TERM]!;
  return t === TERM_RANGE ? "range" : t === TERM_SEASON ? "season" : t === TERM_LEVEL ? "level" : "discord";
}

/**
 * Reasons of one anomaly, strongest first, at most MAX_REASONS: each metric i of the reading
 * (`names[i]`, state index `idx[i]`) scoring at least `threshold`, and when the joint score did,
 * the metrics with at least half the largest contribution (`contrib` by state index), each with the
 * joint score scaled by its share.
 */
export function reasonsOf(
  state: DeviceState,
  models: readonly DetectorModel[],
  modelOf: (m: number) => number,
  names: readonly string[],
  idx: ArrayLike<number>,
  scores: readonly number[],
  threshold: number,
  joint: number,
  contrib: Float64Array,
): AnomalyReason[] {
  const out: AnomalyReason[] = [];
  for (let i = 0; i < names.length; i++) {
    if (scores[i]! >= threshold) out.push({ metric: names[i]!, term: termOf(state, idx[i]!, models[modelOf(idx[i]!)]!), score: scores[i]! });
  }
  if (joint >= threshold) {
    let top = 0;
    for (let i = 0; i < names.length; i++) top = Math.max(top, contrib[idx[i]!] ?? 0);
    if (top > 0) {
      for (let i = 0; i < names.length; i++) {
        const c = contrib[idx[i]!] ?? 0;
        if (c >= top / 2) out.push({ metric: names[i]!, term: "joint", score: (joint * c) / top });
      }
    }
  }
  out.sort((a, b) => b.score - a.score);
  return out.length > MAX_REASONS ? out.slice(0, MAX_REASONS) : out;
}
