import { EventEmitter } from "node:events";
import { consulClient } from "./kv.js";
import type { ConsulConnection } from "./kv.js";
import { ConsulError, toConsulError } from "./errors.js";
import type { LockStore } from "../../ports/leases.js";

export type { LockEntry, LockListing } from "../../ports/leases.js";

/** Consul KV locks (the port `LockStore`). */
export type ConsulLocks = LockStore;

interface RawItem {
  Key: string;
  Value: string | null;
  Session?: string;
  ModifyIndex: number;
  LockIndex: number;
}
interface RawRes {
  headers: Record<string, string | string[] | undefined>;
}

/** Consul KV locks over the `consul` npm client; errors mapped to {@link ConsulError}. */
export function createConsulLocks(conn: ConsulConnection): ConsulLocks {
  const consul = consulClient(conn);
  const kv = consul.kv as unknown as {
    get(o: Record<string, unknown>): Promise<[RawRes, RawItem[] | undefined]>;
    set(o: Record<string, unknown>): Promise<boolean | undefined>;
    del(o: Record<string, unknown>): Promise<unknown>;
  };
  return {
    async acquire(key, session, value) {
      try {
        return (await kv.set({ key, value, acquire: session, timeout: 10_000 })) === true;
      } catch (err) {
        throw toConsulError(err, `acquire lock ${key}`);
      }
    },
    async release(key, session, value) {
      try {
        return (await kv.set({ key, value: value ?? "", release: session, timeout: 10_000 })) === true;
      } catch (err) {
        throw toConsulError(err, `release lock ${key}`);
      }
    },
    async list(prefix, opts = {}) {
      const ctx = Object.assign(new EventEmitter(), { includeResponse: true as const });
      const onAbort = () => ctx.emit("cancel");
      if (opts.signal?.aborted) throw new ConsulError(`kv list ${prefix}: aborted`, { reason: "aborted" });
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const waitMs = opts.waitMs ?? 30_000;
      try {
        const query: Record<string, unknown> = { key: prefix, recurse: true, ctx };
        if (opts.index !== undefined && opts.index > 0) {
          query.index = String(opts.index);
          query.wait = `${Math.max(1, Math.ceil(waitMs / 1000))}s`;
          query.timeout = waitMs + Math.max(5_000, waitMs / 8);
        } else {
          query.timeout = 10_000;
        }
        const [res, items] = await kv.get(query);
        const header = res.headers["x-consul-index"];
        const index = Number(Array.isArray(header) ? header[0] : header) || 0;
        const entries = (items ?? []).map((i) => ({
          key: i.Key,
          value: i.Value ?? "",
          ...(i.Session ? { session: i.Session } : {}),
          modifyIndex: i.ModifyIndex,
          lockIndex: i.LockIndex,
        }));
        return { entries, index };
      } catch (err) {
        throw toConsulError(err, `kv list ${prefix}`);
      } finally {
        opts.signal?.removeEventListener("abort", onAbort);
      }
    },
    async put(key, value) {
      try {
        await kv.set({ key, value, timeout: 10_000 });
      } catch (err) {
        throw toConsulError(err, `kv put ${key}`);
      }
    },
    async del(key, opts = {}) {
      try {
        await kv.del({ key, recurse: opts.recurse === true, timeout: 10_000 });
      } catch (err) {
        throw toConsulError(err, `kv delete ${key}`);
      }
    },
    close() {
      consul.destroy();
    },
  };
}
