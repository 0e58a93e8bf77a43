/**
 * Scores one TEP test run the way the platform would: one device (52 metrics per reading) fed
 * through the real device actor logic with shipped defaults (createOfflineDevice). As in the
 * literature's training phase the device first sees the normal run d00.dat (500 samples), then the
 * test run, timestamps 3 minutes apart and continuing. Pure apart from the arithmetic of the actor.
 *
 * For every test sample it keeps two scores: the reading's score as the actor stores it (with a
 * device-level model once the actor has one) and the maximum of the per-metric scores (the reading
 * score without a joint model, the behaviour before issue 19), so one pass shows what the
 * device-level model adds.
 */
import { createOfflineDevice } from "../../actors/device/offline-device.js";
import type { DeviceSettings } from "../../actors/device/device.messages.js";
import type { TepSamples } from "./parse.js";
import { sampleMetrics } from "./parse.js";
import { TEP_SAMPLE_MINUTES } from "./corpus.js";

/** Timestamp of the first training sample (any fixed instant: nothing depends on the wall clock). */
export const TEP_START_MS = Date.UTC(2000, 0, 1);

/** Scores of the test samples of one run. */
export interface TepRunScores {
  /** The reading's score as the device actor stores it. */
  readonly device: Float64Array;
  /** The largest per-metric score of the reading (no device-level model). */
  readonly perMetric: Float64Array;
  /**
   * Terms of the anomaly's reasons (`range`, `discord`, `joint`, …; `"range+joint"` when several)
   * where the actor raised one, "" elsewhere.
   */
  readonly terms: readonly string[];
  /** Readings of the training run whose reading score reached the threshold (false alarms while learning). */
  readonly trainingFlags: number;
  /** Bytes of the device actor's snapshot after the run (state per device). */
  readonly snapshotBytes: number;
}

/** Options of a run: device settings over the shipped defaults (threshold and detector parameters). */
export interface TepRunOptions {
  readonly settings?: Partial<DeviceSettings>;
  readonly deviceId?: string;
}

/** Feeds `training` then `test` to a fresh offline device and returns the scores of the test samples. */
export function scoreTepRun(training: TepSamples, test: TepSamples, opts: TepRunOptions = {}): TepRunScores {
  const dev = createOfflineDevice(opts.deviceId ?? "tep", opts.settings ?? {});
  const threshold = opts.settings?.threshold ?? 0.9;
  const step = TEP_SAMPLE_MINUTES * 60_000;
  let trainingFlags = 0;
  for (let s = 0; s < training.samples; s++) {
    const r = dev.feed({ seq: s + 1, tsMs: TEP_START_MS + s * step, metrics: sampleMetrics(training, s) });
    if (!r.skipped && r.score >= threshold) trainingFlags++;
  }
  const device = new Float64Array(test.samples);
  const perMetric = new Float64Array(test.samples);
  const terms: string[] = new Array<string>(test.samples).fill("");
  for (let s = 0; s < test.samples; s++) {
    const k = training.samples + s;
    const r = dev.feed({ seq: k + 1, tsMs: TEP_START_MS + k * step, metrics: sampleMetrics(test, s) });
    device[s] = r.score;
    let best = 0;
    for (const x of r.scores) if (x > best) best = x;
    perMetric[s] = best;
    terms[s] = termsOf(r.anomaly);
  }
  return { device, perMetric, terms, trainingFlags, snapshotBytes: dev.snapshot().byteLength };
}

/** The distinct terms of an anomaly's reasons, sorted and joined by "+" (read defensively: old events carry none). */
export function termsOf(anomaly: unknown): string {
  const reasons = (anomaly as { reasons?: unknown } | undefined)?.reasons;
  if (!Array.isArray(reasons)) return "";
  const set = new Set<string>();
  for (const r of reasons) {
    const t = (r as { term?: unknown } | null)?.term;
    if (typeof t === "string") set.add(t);
  }
  return [...set].sort().join("+");
}
