/**
 * Range novelty (the "spatial anomaly" of NAB's HTM detector): a reading beyond every value seen so
 * far, by more than a tolerance proportional to the range seen so far, is anomalous whatever its
 * shape. It catches the most common kind of incident in monitoring data (a value never seen before,
 * slow drifts that end in a new extreme, first spikes) before the nearest-neighbour discord has a
 * full subsequence to compare. The range shrinks very slowly (`contractRange`) so that a one-off
 * extreme does not blind it forever. Two scalars of state; pure functions.
 */

/** The range of raw values seen so far (empty: min = +Infinity, max = -Infinity). */
export interface ValueRange {
  min: number;
  max: number;
}

/** An empty range. */
export function emptyRange(): ValueRange {
  return { min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY };
}

/**
 * Whether `value` lies outside `range` widened on each side by `tolerance` × its width. False while
 * the range is empty or a single value (there is no scale to compare with yet).
 */
export function isOutsideRange(range: ValueRange, value: number, tolerance: number): boolean {
  return isOutsideBounds(range.min, range.max, value, tolerance);
}

/** `isOutsideRange` of the range [min, max] given as two numbers (the detector keeps them in slots). */
export function isOutsideBounds(min: number, max: number, value: number, tolerance: number): boolean {
  const width = max - min;
  if (!(width > 0)) return false;
  const margin = width * tolerance;
  return value > max + margin || value < min - margin;
}

/** Widens `range` to include `value` (in place). */
export function extendRange(range: ValueRange, value: number): void {
  if (value > range.max) range.max = value;
  if (value < range.min) range.min = value;
}

/** Shrinks `range` toward its middle by `rate` × its width (in place); forgets old extremes slowly. */
export function contractRange(range: ValueRange, rate: number): void {
  const width = range.max - range.min;
  if (!(width > 0) || rate <= 0) return;
  const cut = width * rate * 0.5;
  range.max -= cut;
  range.min += cut;
}
