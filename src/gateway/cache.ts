import { withTimeout } from "../base/clock.js";
import type { Clock } from "../ports/clock.js";

/**
 * The key-value store the gateway caches answers in. Keyv (memory or Redis) satisfies it; so does
 * any store with these two methods. `ttl` is in ms.
 */
export interface CacheStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttl?: number): Promise<unknown>;
}

/** Outcome of a cache lookup. */
export type CacheLookup<T> = { readonly hit: true; readonly value: T } | { readonly hit: false; readonly error?: unknown };

/**
 * Pattern cache: a CacheStore behind a timeout. A slow or failing store (Redis down) turns into a
 * miss instead of an error: the cache may only ever save work, never fail a request.
 */
export class PatternCache {
  constructor(
    private readonly store: CacheStore,
    private readonly opts: { readonly ttlMs: number; readonly opTimeoutMs: number; readonly clock: Clock },
  ) {}

  async get<T>(key: string): Promise<CacheLookup<T>> {
    try {
      const v = await this.bounded(this.store.get(key));
      return v === undefined || v === null ? { hit: false } : { hit: true, value: v as T };
    } catch (error) {
      return { hit: false, error };
    }
  }

  /** Store `value`; resolves false (never rejects) when the store failed. */
  async set(key: string, value: unknown): Promise<boolean> {
    try {
      await this.bounded(this.store.set(key, value, this.opts.ttlMs > 0 ? this.opts.ttlMs : undefined));
      return true;
    } catch {
      return false;
    }
  }

  private bounded<T>(p: Promise<T>): Promise<T> {
    const ms = this.opts.opTimeoutMs;
    return withTimeout(p, ms, this.opts.clock, `cache operation exceeded ${ms} ms`);
  }
}

/** A bounded in-memory CacheStore (insertion-order eviction, per-entry TTL) for tests and defaults. */
export function createMemoryStore(clock: Clock, maxEntries = 100_000): CacheStore {
  const m = new Map<string, { v: unknown; exp: number }>();
  return {
    get: async (k) => {
      const e = m.get(k);
      if (!e) return undefined;
      if (e.exp <= clock.now()) {
        m.delete(k);
        return undefined;
      }
      return e.v;
    },
    set: async (k, v, ttl) => {
      if (m.size >= maxEntries && !m.has(k)) m.delete(m.keys().next().value!);
      m.set(k, { v, exp: ttl === undefined ? Infinity : clock.now() + ttl });
      return true;
    },
  };
}
