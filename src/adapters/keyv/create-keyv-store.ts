import { Keyv } from "keyv";
import { backoffMs } from "../../base/backoff.js";

/** Options of a Keyv store. */
export interface KeyvStoreOptions {
  /** Redis URL (redis://host:port/db); in-memory when absent. */
  readonly redisUrl?: string | undefined;
  /** Redis AUTH password (secret; kept out of the URL so it is never logged with it). */
  readonly redisPassword?: string | undefined;
  /** Key namespace (prefix), e.g. `shoal-gateway` or `actor-cache`. */
  readonly namespace: string;
  /** Default TTL of entries, ms (none when absent). */
  readonly ttlMs?: number | undefined;
  /** Redis connect timeout, ms. Default 2 000. */
  readonly connectTimeoutMs?: number;
  /** Called with store errors (Redis down...); they are otherwise swallowed so callers see misses. */
  readonly onError?: (err: unknown) => void;
}

/**
 * Create a Keyv store: in-memory by default, Redis via @keyv/redis when `redisUrl` is given.
 * Errors never throw out of get/set (Keyv emits them; we forward them to `onError`), so a Redis
 * outage degrades to cache misses. Generic: the gateway's pattern cache and per-actor caches both use it.
 * Close with `await keyv.disconnect()`. @keyv/redis is loaded only for a Redis store (a process with
 * in-memory caches does not pay for importing it at start).
 */
export async function createKeyvStore(opts: KeyvStoreOptions): Promise<Keyv> {
  const onError = opts.onError ?? (() => {});
  if (!opts.redisUrl) {
    const keyv = new Keyv({ namespace: opts.namespace, ttl: opts.ttlMs, throwOnErrors: false });
    keyv.on("error", onError);
    return keyv;
  }
  const { default: KeyvRedis } = await import("@keyv/redis");
  const redis = new KeyvRedis(
    { url: opts.redisUrl, ...(opts.redisPassword !== undefined ? { password: opts.redisPassword } : {}), socket: { connectTimeout: opts.connectTimeoutMs ?? 2_000, reconnectStrategy: (retries: number) => backoffMs(retries, 50, 1_000) } },
    { throwOnConnectError: false, throwOnErrors: false, connectionTimeout: opts.connectTimeoutMs ?? 2_000 },
  );
  redis.on("error", onError);
  const keyv = new Keyv({ store: redis, namespace: opts.namespace, ttl: opts.ttlMs, throwOnErrors: false });
  keyv.on("error", onError);
  return keyv;
}
