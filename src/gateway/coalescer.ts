/**
 * Request coalescing: concurrent calls with the same key share one in-flight promise, so 100
 * identical concurrent requests make one upstream call. The entry is removed when it settles, so
 * later calls go to the cache (or upstream) again.
 */
export class Coalescer<T> {
  private readonly inflight = new Map<string, Promise<T>>();
  /** Calls that joined an existing in-flight promise. */
  joined = 0;

  /** Run `fn` for `key` unless a call for `key` is already in flight; then share its result. */
  run(key: string, fn: () => Promise<T>): { promise: Promise<T>; leader: boolean } {
    const existing = this.inflight.get(key);
    if (existing) {
      this.joined++;
      return { promise: existing, leader: false };
    }
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return { promise: p, leader: true };
  }

  /** Keys in flight. */
  get size(): number {
    return this.inflight.size;
  }
}
