/** Leases as the cluster sees them: sessions that expire unless renewed, and locks on keys held by a session. */

/** One key under a prefix, with its lock holder. */
export interface LockEntry {
  readonly key: string;
  /** Value as text ("" when empty). */
  readonly value: string;
  /** Session holding the key's lock, if any. */
  readonly session?: string;
  readonly modifyIndex: number;
  /** LockIndex: how many times the lock was acquired. */
  readonly lockIndex: number;
}

/** A recursive read of a prefix, with the index to block on next. */
export interface LockListing {
  readonly entries: readonly LockEntry[];
  /** X-Consul-Index: pass as `index` to block until something under the prefix changes. */
  readonly index: number;
}

/** Locks on keys held by sessions (Consul KV `?acquire=` / `?release=` in production), and prefix listings. */
export interface LockStore {
  /**
   * Takes the lock on `key` for `session`, writing `value`. Resolves true when held (also when this
   * session already held it), false when another session holds it or a lock delay is in force.
   * (The npm client answers a failed acquire with `undefined`, not false: normalised here.)
   */
  acquire(key: string, session: string, value: string): Promise<boolean>;
  /** Releases the lock on `key` held by `session`, writing `value` when given. Resolves false if `session` did not hold it. */
  release(key: string, session: string, value?: string): Promise<boolean>;
  /** Every key under `prefix`; with `index`, a blocking query that answers on a change or after `waitMs`. */
  list(prefix: string, opts?: { index?: number; waitMs?: number; signal?: AbortSignal }): Promise<LockListing>;
  /** Writes `key` unconditionally (no lock). */
  put(key: string, value: string): Promise<void>;
  /** Deletes `key`. */
  del(key: string, opts?: { recurse?: boolean }): Promise<void>;
  close(): void;
}

/** Options of a session (lease holder). */
export interface SessionOptions {
  /** Human-readable name, e.g. `shoal-runtime node-1`. */
  readonly name: string;
  /** Session TTL in ms (Consul accepts 10 s to 24 h; it invalidates after up to 2×TTL without renew). */
  readonly ttlMs: number;
  /**
   * What happens to keys held by the session when it is invalidated: `delete` removes them,
   * `release` keeps them without a holder. Default `delete`.
   */
  readonly behavior?: "delete" | "release";
  /**
   * Lock delay after invalidation, ms: nobody can acquire a lock the session held for this long.
   * Consul's default is 15 s; shoal uses a small value (handoffs release explicitly, which has no delay).
   */
  readonly lockDelayMs?: number;
}

/** Sessions that hold locks and expire without renewal (Consul `/v1/session/*` in production). */
export interface SessionStore {
  /** Creates a session; resolves with its id. */
  create(opts: SessionOptions): Promise<string>;
  /** Renews session `id`; resolves false when Consul no longer knows it (expired or destroyed). */
  renew(id: string): Promise<boolean>;
  /** Destroys session `id` (its locks are released or deleted per its behavior). Idempotent. */
  destroy(id: string): Promise<void>;
  /** Ids of every live session. */
  list(): Promise<Array<{ id: string; name: string }>>;
  close(): void;
}
