import { consulClient } from "./kv.js";
import type { ConsulConnection } from "./kv.js";
import { toConsulError } from "./errors.js";
import type { SessionStore } from "../../ports/leases.js";

export type { SessionOptions } from "../../ports/leases.js";

/** Consul sessions (the port `SessionStore`). */
export type ConsulSessions = SessionStore;

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

