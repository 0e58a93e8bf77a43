/**
 * Run `fn` for every item with at most `limit` calls in flight; resolves when all settled
 * successfully, rejects with the first failure (after the calls in flight settled).
 */
export async function forEachBounded<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure !== undefined) throw failure.error;
}

/**
 * An amount (bytes, messages) shared by several loops: each takes what it holds and gives it back
 * when done; a loop waits while the whole amount is in use. Taking never waits (a loop takes what
 * it already has), so the amount is a pause threshold, not an exact cap: it can be passed by what
 * one step of each loop takes.
 */
export class SharedBudget {
  private used = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  /** True while less than the limit is in use. */
  available(): boolean {
    return this.used < this.limit;
  }

  /** Call `wake` once, the next time something is given back. */
  onGiven(wake: () => void): void {
    this.waiters.push(wake);
  }

  take(n: number): void {
    this.used += n;
  }

  give(n: number): void {
    this.used -= n;
    if (this.waiters.length > 0) for (const w of this.waiters.splice(0)) w();
  }
}
