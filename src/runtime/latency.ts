const BUCKETS = 96;

/**
 * A log-bucketed latency histogram in microseconds (about 19% resolution, 0.1 µs .. ~2 h).
 * Fixed memory, no allocation per sample.
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private maxUs = 0;

  record(us: number): void {
    const i = us <= 0.1 ? 0 : Math.min(BUCKETS - 1, Math.floor(4 * Math.log2(us * 10)) + 1);
    this.counts[i]!++;
    this.total++;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Upper bound of the bucket holding quantile `q` (0..1); 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.maxUs, i === 0 ? 0.1 : 2 ** (i / 4) / 10);
    }
    return this.maxUs;
  }

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maxUs;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.maxUs = 0;
  }
}
