import { EventEmitter } from "node:events";
import Consul from "consul";
import { ConsulError, toConsulError } from "./errors.js";
import type { KvStore } from "../../ports/kv-store.js";

export type { KvRead, KvWrite } from "../../ports/kv-store.js";

/** Connection settings of a Consul agent. */
export interface ConsulConnection {
  /** Base URL, e.g. `http://127.0.0.1:18500`. */
  readonly url: string;
  /** ACL token (secret). */
  readonly token?: string;
}

/** The slice of Consul KV that configuration needs (the port `KvStore`). */
export type ConsulKv = KvStore;

/** Builds the `consul` npm client for `conn`. */
export function consulClient(conn: ConsulConnection): Consul {
  const u = new URL(conn.url);
  return new Consul({
    host: u.hostname,
    port: Number(u.port || (u.protocol === "https:" ? 443 : 80)),
    secure: u.protocol === "https:",
    ...(conn.token ? { defaults: { token: conn.token } } : {}),
  });
}

type Ctx = EventEmitter & { includeResponse: true };
interface RawItem {
  ModifyIndex: number;
  Value: string | null;
}
interface RawRes {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
}

/** Consul KV over the `consul` npm client; errors are mapped to {@link ConsulError}. */
export function createConsulKv(conn: ConsulConnection): ConsulKv {
  const consul = consulClient(conn);
  const kv = consul.kv as unknown as {
    get(o: Record<string, unknown>): Promise<[RawRes, RawItem | undefined]>;
    keys(o: Record<string, unknown>): Promise<string[]>;
    del(o: Record<string, unknown>): Promise<unknown>;
  };
  return {
    async get(key, opts = {}) {
      const ctx = Object.assign(new EventEmitter(), { includeResponse: true as const });
      const onAbort = () => ctx.emit("cancel");
      if (opts.signal?.aborted) throw new ConsulError(`kv get ${key}: aborted`, { reason: "aborted" });
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const waitMs = opts.waitMs ?? 30_000;
      try {
        const query: Record<string, unknown> = { key, ctx: ctx as Ctx };
        if (opts.index !== undefined) {
          query.index = String(opts.index);
          query.wait = `${Math.ceil(waitMs / 1000)}s`;
          // Consul adds up to wait/16 of jitter; beyond that the connection is presumed dead.
          query.timeout = waitMs + Math.max(5_000, waitMs / 8);
        } else {
          query.timeout = 10_000;
        }
        const [res, item] = await kv.get(query);
        const header = res.headers["x-consul-index"];
        const index = Number(Array.isArray(header) ? header[0] : header) || 0;
        return {
          value: item?.Value ?? (item ? "" : undefined),
          modifyIndex: item?.ModifyIndex ?? 0,
          index,
        };
      } catch (err) {
        throw toConsulError(err, `kv get ${key}`);
      } finally {
        opts.signal?.removeEventListener("abort", onAbort);
      }
    },
    async keys(prefix) {
      try {
        const res = await kv.keys({ key: prefix, timeout: 10_000 });
        return res ?? [];
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return [];
        throw toConsulError(err, `kv keys ${prefix}`);
      }
    },
    async write(writes) {
      const ops = writes.map((w) => ({
        KV: {
          Verb: w.cas === undefined ? "set" : "cas",
          Key: w.key,
          Value: Buffer.from(w.value, "utf8").toString("base64"),
          ...(w.cas === undefined ? {} : { Index: w.cas }),
        },
      }));
      try {
        await (consul.transaction as unknown as { create(o: unknown[], opts: object): Promise<unknown> }).create(ops, { timeout: 10_000 });
      } catch (err) {
        throw toConsulError(err, `kv write ${writes.map((w) => w.key).join(", ")}`);
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
