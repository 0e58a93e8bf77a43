/**
 * Parameters of the streaming anomaly detector. One global set serves every metric; nothing here is
 * tuned per series. Counts are in raw points unless said otherwise; "steps" are downsampled points
 * (one step = `downsample` raw points).
 */
export interface DetectorParams {
  /** Raw points folded into one downsampled step (block mean pulled toward its extreme). Integer ≥ 1. */
  readonly downsample: number;
  /** Steps per subsequence compared by the nearest-neighbour search. Integer in [2, 64]. */
  readonly windowLength: number;
  /** Steps of history searched for the nearest neighbour (ring buffer). Integer in [16, 512]. */
  readonly historyLength: number;
  /** Most recent subsequences skipped by the search (they overlap the current one). Integer ≥ 0. */
  readonly exclusionZone: number;
  /** Steps of history required before any score is produced. Integer ≥ 1. */
  readonly minHistory: number;
  /** Recent nearest-neighbour distances the current one is compared with (ring). Integer in [10, 512]. */
  readonly distanceMemory: number;
  /** How far a step's value moves from the block mean toward the block extreme, in [0, 1]. */
  readonly spikeWeight: number;
  /** Exponential rate of the data scale (mean absolute deviation) used to normalise distances, in (0, 1]. */
  readonly scaleRate: number;
  /** Exponential rate of the long-run distribution of log distances (likelihood layer), in (0, 1]. */
  readonly likelihoodRate: number;
  /** Weight of the log ratio of the distance to the largest recent one. */
  readonly ratioWeight: number;
  /** Weight of the z-score of the log distance against its long-run distribution. */
  readonly likelihoodWeight: number;
  /** Floor added to normalised distances before taking logs (> 0). */
  readonly distanceFloor: number;
  /** Raw points at the start of a series that always score 0. Integer ≥ 0. */
  readonly warmup: number;
  /** Score at or above which the detector raises an alarm and starts resting, in (0, 1). */
  readonly alarmScore: number;
  /** Raw points after an alarm during which scores are damped. Integer ≥ 0. */
  readonly restPoints: number;
  /** Factor applied to scores while resting, in [0, 1]. */
  readonly restDamping: number;
  /**
   * Range novelty: a reading beyond the range of every earlier reading by more than this fraction
   * of that range scores `rangeScore` (NAB's HTM "spatial anomaly"), in [0, 100].
   */
  readonly rangeTolerance: number;
  /** Score of a range-novel reading, in [0, 1]; 0 disables range novelty. */
  readonly rangeScore: number;
  /**
   * Fraction of its width the seen range shrinks by per raw point (toward its middle), so a one-off
   * extreme is forgotten over time, in [0, 1]; 0 keeps the range forever. The default, 1e-5, halves
   * an unrefreshed excess in ~69,000 points (~240 days of 5-minute data).
   */
  readonly rangeDecay: number;
  /**
   * Season of the seasonal discord in ms (default one day); 0 disables it. The period in steps is
   * derived from the observed sampling interval (timestamps passed to `update`).
   */
  readonly seasonPeriodMs: number;
  /** Steps of slack either side of each whole period when looking for same-phase neighbours. Integer in [0, 16]. */
  readonly seasonTolerance: number;
  /** Weight of the seasonal discord's z-score in its logit; 0 disables it. */
  readonly seasonWeight: number;
  /** z-score of the log seasonal distance at which its logit is 0 (it is fused by max with the discord's). */
  readonly seasonOffset: number;
  /**
   * Drift gate of range novelty: exponential rate per raw point of the drift-following level of
   * raw values, in [0, 1]; 0 turns the gate off (every reading beyond the range is range-novel).
   * A reading beyond the seen range is range-novel only if it, or its short mean, is also further
   * from that level than `driftBar` mean absolute deviations (range-novelty.ts), so a slow drift to
   * new extremes is followed, not alarmed on, while a step or a spike still is.
   */
  readonly driftRate: number;
  /** Exponential rate of the drift gate's slow level (the gap to the fast level is its drift signal), in (0, 1]. */
  readonly driftSlowRate: number;
  /** Exponential rate of the short mean of raw values the drift gate also tests (smooths noise), in (0, 1]. */
  readonly driftSmoothing: number;
  /** Exponential rate of the drift gate's mean absolute deviations (of the reading and of its short mean), in (0, 1]. */
  readonly driftScaleRate: number;
  /** Deviations from the drift-following level, in mean absolute deviations, that open the drift gate (≥ 0). */
  readonly driftBar: number;
  /** Gap between the gate's fast and slow levels, in mean absolute deviations, from which data counts as drifting (≥ 0). */
  readonly driftTrendBar: number;
  /** Raw points during which the drift gate applies even to data that does not drift (a young range is mostly noise). Integer ≥ 0. */
  readonly driftHold: number;
  /**
   * Score of a weak range novelty, in [0, 1]: a new extreme of settled (not drifting) data that is
   * not unusual against its level (a noise tail, a bounded series' new value). Below the device's
   * alarm threshold by default, above the detector's `alarmScore`.
   */
  readonly rangeWeakScore: number;
  /**
   * Level shift (drift gate, range-novelty.ts): the short mean of raw values, beyond its own seen
   * range, further than this many mean absolute deviations from the drift-following level, scores
   * `rangeScore` (a step too small for any single reading to leave the raw range); 0 disables it.
   */
  readonly levelBar: number;
  /** Consecutive readings the level shift must hold (each beyond the bar) before it scores, once. Integer ≥ 1. */
  readonly levelPersist: number;
  /**
   * A reading beyond the seen range by more than this fraction of its width is a full range
   * novelty whatever the drift gate says (a clear jump, not a noise tail nor a drift's next step), in [0, 100].
   */
  readonly rangeClearTolerance: number;
  /**
   * A weak range novelty within this many raw points after another one scores `rangeScore` (a burst
   * of new extremes, not a lone noise tail). Integer ≥ 0; 0 never upgrades.
   */
  readonly rangeRepeat: number;
}

/**
 * Defaults, optimised once over the whole NAB corpus (docs/adr/0003-anomaly-detector.md).
 */
export const defaultDetectorParams: DetectorParams = Object.freeze({
  downsample: 4,
  windowLength: 6,
  historyLength: 340,
  exclusionZone: 13,
  minHistory: 24,
  distanceMemory: 157,
  spikeWeight: 0.22275,
  scaleRate: 0.0003267,
  likelihoodRate: 0.003168,
  ratioWeight: 1,
  likelihoodWeight: 0.128744,
  distanceFloor: 0.0075625,
  warmup: 100,
  alarmScore: 0.65835,
  restPoints: 28,
  restDamping: 0.3,
  rangeTolerance: 0.04,
  rangeScore: 1,
  rangeDecay: 0.00001,
  seasonPeriodMs: 86_400_000,
  seasonTolerance: 1,
  seasonWeight: 0.29,
  seasonOffset: 2,
  driftRate: 0.01,
  driftSlowRate: 0.001,
  driftSmoothing: 0.25,
  driftScaleRate: 0.001,
  driftBar: 8,
  driftTrendBar: 0.5,
  driftHold: 500,
  rangeWeakScore: 0.8,
  levelBar: 6,
  levelPersist: 12,
  rangeClearTolerance: 0.4,
  rangeRepeat: 16,
});

type Rule = readonly [key: keyof DetectorParams, integer: boolean, min: number, max: number, minOpen?: boolean];

const RULES: readonly Rule[] = [
  ["downsample", true, 1, 64],
  ["windowLength", true, 2, 64],
  ["historyLength", true, 16, 512],
  ["exclusionZone", true, 0, 511],
  ["minHistory", true, 1, 512],
  ["distanceMemory", true, 10, 512],
  ["spikeWeight", false, 0, 1],
  ["scaleRate", false, 0, 1, true],
  ["likelihoodRate", false, 0, 1, true],
  ["ratioWeight", false, -100, 100],
  ["likelihoodWeight", false, -100, 100],
  ["distanceFloor", false, 0, 1e6, true],
  ["warmup", true, 0, 1e9],
  ["alarmScore", false, 0, 1, true],
  ["restPoints", true, 0, 1e9],
  ["restDamping", false, 0, 1],
  // Added in state version 2; keep new parameters at the end (version-1 states hold the ones above).
  ["rangeTolerance", false, 0, 100],
  ["rangeScore", false, 0, 1],
  ["rangeDecay", false, 0, 1],
  ["seasonPeriodMs", false, 0, 1e12],
  ["seasonTolerance", true, 0, 16],
  ["seasonWeight", false, 0, 100],
  ["seasonOffset", false, -100, 100],
  // Added in state version 3 (the drift gate of range novelty).
  ["driftRate", false, 0, 1],
  ["driftSlowRate", false, 0, 1, true],
  ["driftSmoothing", false, 0, 1, true],
  ["driftScaleRate", false, 0, 1, true],
  ["driftBar", false, 0, 1e6],
  ["driftTrendBar", false, 0, 1e6],
  ["driftHold", true, 0, 1e9],
  ["rangeWeakScore", false, 0, 1],
  ["levelBar", false, 0, 1e6],
  ["levelPersist", true, 1, 1e9],
  ["rangeClearTolerance", false, 0, 100],
  ["rangeRepeat", true, 0, 1e9],
];

/** Names of the parameters, in serialisation order. */
export const PARAM_KEYS: readonly (keyof DetectorParams)[] = RULES.map((r) => r[0]);

/**
 * Fills defaults and validates. Throws a RangeError naming the field and the rule, e.g.
 * `detector.windowLength must be an integer in [2, 64], got 100`.
 */
export function resolveDetectorParams(partial: Partial<DetectorParams> = {}): DetectorParams {
  const out: Record<string, number> = { ...defaultDetectorParams };
  for (const [key, value] of Object.entries(partial)) {
    if (value === undefined) continue;
    if (!(key in defaultDetectorParams)) throw new RangeError(`detector.${key} is not a detector parameter`);
    out[key] = value;
  }
  for (const [key, integer, min, max, minOpen] of RULES) {
    const v = out[key]!;
    const okType = typeof v === "number" && Number.isFinite(v) && (!integer || Number.isInteger(v));
    const okRange = okType && (minOpen === true ? v > min : v >= min) && v <= max;
    if (!okRange) {
      const range = `${minOpen === true ? "(" : "["}${min}, ${max}]`;
      throw new RangeError(`detector.${key} must be ${integer ? "an integer" : "a number"} in ${range}, got ${String(v)}`);
    }
  }
  const p = out as unknown as DetectorParams;
  if (p.alarmScore >= 1) throw new RangeError(`detector.alarmScore must be below 1, got ${p.alarmScore}`);
  if (p.windowLength + p.exclusionZone >= p.historyLength) {
    throw new RangeError(
      `detector.windowLength + detector.exclusionZone must be below detector.historyLength, got ${p.windowLength} + ${p.exclusionZone} >= ${p.historyLength}`,
    );
  }
  return Object.freeze(p);
}
