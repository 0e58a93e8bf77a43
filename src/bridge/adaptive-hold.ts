/** Options of an {@link AdaptiveHold}. */
export interface AdaptiveHoldOptions {
  /** The hold when no reading came late lately, ms (`bridge.reorderHold`). */
  readonly minMs: number;
  /** The hold never grows beyond this, ms (`bridge.reorderHoldMax`). Equal to minMs: a fixed hold. */
  readonly maxMs: number;
  /** How long one late reading keeps the hold up, ms. Default 60 000. */
  readonly windowMs?: number;
}

/** Buckets of the window: the hold falls back one bucket at a time. */
const BUCKETS = 6;
/** The hold is this much longer than the latest straggler of the window. */
const HEADROOM = 1.5;

/**
 * How long the bridge's order stage holds a reading that arrived ahead of an earlier one of its
 * device. Under load the bridge's MQTT connections fall behind each other by more than the
 * configured hold, and a reading that comes after its successor gave up waiting is scored out of
 * time order (docs/adr/0011-sequence-model.md). Each such straggler tells how long the wait should
 * have been; the hold becomes 1.5 × the longest of the last minute, between `minMs` and `maxMs`,
 * and falls back to `minMs` a bucket (a sixth of the window) at a time once none come. Readings
 * that arrive in order never wait, whatever the hold.
 */
export class AdaptiveHold {
  private readonly maxLate = new Array<number>(BUCKETS).fill(0);
  private readonly bucketMs: number;
  private bucket = 0;
  private bucketEnd = 0;
  private current: number;

  constructor(private readonly o: AdaptiveHoldOptions) {
    this.bucketMs = Math.max(1, Math.floor((o.windowMs ?? 60_000) / BUCKETS));
    this.current = o.minMs;
  }

  /** Whether the hold can change at all. */
  get adaptive(): boolean {
    return this.o.maxMs > this.o.minMs;
  }

  /** The hold now, ms. */
  ms(now: number): number {
    if (now >= this.bucketEnd) this.roll(now);
    return this.current;
  }

  /** A reading came `lateMs` after the one that overtook it had arrived (and gave up waiting). */
  observe(lateMs: number, now: number): void {
    if (!this.adaptive) return;
    if (now >= this.bucketEnd) this.roll(now);
    if (lateMs > this.maxLate[this.bucket]!) {
      this.maxLate[this.bucket] = lateMs;
      this.current = Math.max(this.current, this.holdFor(lateMs));
    }
  }

  /** Moves to the bucket of `now`, forgetting the buckets it passed, and recomputes the hold. */
  private roll(now: number): void {
    const steps = this.bucketEnd === 0 ? 1 : Math.min(BUCKETS, 1 + Math.floor((now - this.bucketEnd) / this.bucketMs));
    for (let i = 0; i < steps; i++) {
      this.bucket = (this.bucket + 1) % BUCKETS;
      this.maxLate[this.bucket] = 0;
    }
    // The end of the bucket holding `now` (always after it: the remainder is below bucketMs).
    this.bucketEnd = now - ((now - this.bucketEnd) % this.bucketMs) + this.bucketMs;
    this.current = this.holdFor(Math.max(...this.maxLate));
  }

  private holdFor(lateMs: number): number {
    return Math.min(this.o.maxMs, Math.max(this.o.minMs, Math.ceil(lateMs * HEADROOM)));
  }
}
