/**
 * A bounded, time-ordered window of points for a live chart: the x column (time, ms) and `columns`
 * y columns, in preallocated Float64Arrays of twice the capacity, so a chart left open for hours
 * keeps a flat memory: appends are O(1) amortised (the live window slides by moving the start, and
 * the arrays are compacted once per `capacity` appends); late or seeded points are inserted in order
 * and a point at an existing time replaces it. `view()` hands uPlot subarrays (no copies).
 */
export interface SeriesBufferOptions {
  /** Most points kept; the oldest go first. */
  readonly capacity: number;
  /** Points older than the newest minus this are dropped (0 = no age limit). */
  readonly maxAgeMs?: number;
}

export class SeriesBuffer {
  readonly capacity: number;
  readonly maxAgeMs: number;
  private readonly xs: Float64Array;
  private readonly ys: Float64Array[];
  private start = 0;
  private end = 0;

  constructor(
    readonly columns: number,
    opts: SeriesBufferOptions,
  ) {
    if (!Number.isInteger(opts.capacity) || opts.capacity < 1) throw new RangeError(`capacity must be an integer >= 1, got ${opts.capacity}`);
    if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`columns must be an integer >= 1, got ${columns}`);
    this.capacity = opts.capacity;
    this.maxAgeMs = opts.maxAgeMs ?? 0;
    this.xs = new Float64Array(2 * this.capacity);
    this.ys = Array.from({ length: columns }, () => new Float64Array(2 * this.capacity));
  }

  /** Points held now (at most `capacity`). */
  get length(): number {
    return this.end - this.start;
  }

  /** Time of the oldest / newest point, NaN when empty. */
  get firstX(): number {
    return this.length > 0 ? this.xs[this.start]! : NaN;
  }

  get lastX(): number {
    return this.length > 0 ? this.xs[this.end - 1]! : NaN;
  }

  /** Value of column `col` at index `i` (0 = oldest). */
  y(col: number, i: number): number {
    return this.ys[col]![this.start + i]!;
  }

  x(i: number): number {
    return this.xs[this.start + i]!;
  }

  /** Adds the point (x, values); `values.length` must equal `columns`. Returns false when it was too old to keep. */
  add(x: number, values: readonly number[]): boolean {
    if (values.length !== this.columns) throw new RangeError(`expected ${this.columns} values, got ${values.length}`);
    if (!Number.isFinite(x)) return false;
    const n = this.length;
    if (n === 0 || x > this.xs[this.end - 1]!) {
      this.ensureRoom();
      this.write(this.end, x, values);
      this.end++;
    } else {
      const i = this.lowerBound(x);
      if (i < this.end && this.xs[i] === x) {
        this.write(i, x, values);
        return true;
      }
      if (i === this.start && (n >= this.capacity || (this.maxAgeMs > 0 && x < this.lastX - this.maxAgeMs))) return false;
      this.ensureRoom();
      // ensureRoom may have compacted: find the slot again.
      const j = this.lowerBound(x);
      this.xs.copyWithin(j + 1, j, this.end);
      for (const col of this.ys) col.copyWithin(j + 1, j, this.end);
      this.write(j, x, values);
      this.end++;
    }
    this.trim();
    return true;
  }

  /** Drops every point. */
  clear(): void {
    this.start = 0;
    this.end = 0;
  }

  /** The window as [x, y0, y1, ...] subarrays, valid until the next `add` (what uPlot's setData takes). */
  view(): [Float64Array, ...Float64Array[]] {
    return [this.xs.subarray(this.start, this.end), ...this.ys.map((c) => c.subarray(this.start, this.end))];
  }

  /** Highest value of column `col` in the window (-Infinity when empty). */
  max(col: number): number {
    let m = -Infinity;
    const c = this.ys[col]!;
    for (let i = this.start; i < this.end; i++) if (c[i]! > m) m = c[i]!;
    return m;
  }

  private write(i: number, x: number, values: readonly number[]): void {
    this.xs[i] = x;
    for (let c = 0; c < this.columns; c++) this.ys[c]![i] = values[c]!;
  }

  /** First index in [start, end) whose x is >= `x`. */
  private lowerBound(x: number): number {
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.xs[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Makes room for one more point at the end: drops the oldest when full, compacts when the arrays' end is reached. */
  private ensureRoom(): void {
    if (this.length >= this.capacity) this.start++;
    if (this.end < this.xs.length) return;
    this.xs.copyWithin(0, this.start, this.end);
    for (const col of this.ys) col.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
  }

  private trim(): void {
    if (this.maxAgeMs <= 0) return;
    const oldest = this.xs[this.end - 1]! - this.maxAgeMs;
    while (this.start < this.end && this.xs[this.start]! < oldest) this.start++;
  }
}
