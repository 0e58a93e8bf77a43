import { consulClient } from "./kv.js";
import type { ConsulConnection } from "./kv.js";
import { toConsulError } from "./errors.js";

/** Options of a Consul session. */
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

/** Consul sessions (`/v1/session/*`). */
export interface ConsulSessions {
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

/** Consul sessions over the `consul` npm client; errors mapped to {@link ConsulError}. */
export function createConsulSessions(conn: ConsulConnection): ConsulSessions {
  const consul = consulClient(conn);
  const s = consul.session as unknown as {
    create(o: Record<string, unknown>): Promise<{ ID: string }>;
    renew(o: Record<string, unknown>): Promise<unknown>;
    destroy(o: Record<string, unknown>): Promise<unknown>;
    list(o: Record<string, unknown>): Promise<Array<{ ID: string; Name: string }>>;
  };
  return {
    async create(opts) {
      if (!(opts.ttlMs >= 10_000 && opts.ttlMs <= 86_400_000)) throw new RangeError(`session ttlMs must be in [10000, 86400000], got ${opts.ttlMs}`);
      try {
        const res = await s.create({
          name: opts.name,
          ttl: `${Math.ceil(opts.ttlMs / 1000)}s`,
          behavior: opts.behavior ?? "delete",
          lockdelay: `${Math.max(0, Math.round(opts.lockDelayMs ?? 1000))}ms`,
          timeout: 10_000,
        });
        return res.ID;
      } catch (err) {
        throw toConsulError(err, `create session ${opts.name}`);
      }
    },
    async renew(id) {
      try {
        const res = await s.renew({ id, timeout: 10_000 });
        return Array.isArray(res) ? res.length > 0 : res !== undefined && res !== null;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return false;
        throw toConsulError(err, `renew session ${id}`);
      }
    },
    async destroy(id) {
      try {
        await s.destroy({ id, timeout: 10_000 });
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return;
        throw toConsulError(err, `destroy session ${id}`);
      }
    },
    async list() {
      try {
        const res = await s.list({ timeout: 10_000 });
        return (res ?? []).map((x) => ({ id: x.ID, name: x.Name }));
      } catch (err) {
        throw toConsulError(err, "list sessions");
      }
    },
    close() {
      consul.destroy();
    },
  };
}

