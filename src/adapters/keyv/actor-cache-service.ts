import type { OutCall } from "../../ports/actor-host.js";
import { ACTOR_CACHE_SERVICE } from "../../ports/actor-cache.js";
import type { ActorCacheGetReply, ActorCacheSet, ActorCacheSetReply } from "../../ports/actor-cache.js";

export { ACTOR_CACHE_SERVICE } from "../../ports/actor-cache.js";
import type { Clock } from "../../ports/clock.js";
import { ShoalError } from "../../base/errors.js";
import { PatternCache } from "../../gateway/cache.js";
import { systemClock } from "../../base/clock.js";
import { createKeyvStore } from "./create-keyv-store.js";

/** Options of `createActorCacheService`. */
export interface ActorCacheServiceOptions {
  /** `"memory"` (default: in-process Keyv) or a Redis URL (`redis://host:port/db`, via @keyv/redis). */
  readonly store?: "memory" | (string & {}) | undefined;
  /** Redis AUTH password of a Redis `store` (secret). */
  readonly redisPassword?: string | undefined;
  /** Time to live of an entry, ms; 0 keeps entries until evicted. */
  readonly ttlMs: number;
  /**
   * Most entries kept per actor; the oldest written is deleted beyond it. Default 64. Tracked in
   * this process: after a restart Redis entries written before it expire by TTL only.
   */
  readonly maxEntriesPerActor?: number;
  /** Actors whose keys are tracked for `maxEntriesPerActor` (oldest-active forgotten first). Default 100,000. */
  readonly maxTrackedActors?: number;
  /** A get/set slower than this counts as a miss / not stored, ms. Default 250. */
  readonly opTimeoutMs?: number;
  /** Prefix of every key (Keyv namespace of the store). Default `shoal-actor-cache`. */
  readonly prefix?: string;
  readonly clock?: Clock;
  /** Store errors (Redis down…); they only ever turn into misses. */
  readonly onError?: (err: unknown) => void;
}

/** The per-actor cache as a service the runtime routes actors' calls to. */
export interface ActorCacheService {
  /** Answers one actor call for service "cache"; rejects with ActorCacheRequestError on a bad call. */
  handle(call: OutCall): Promise<unknown>;
  /** Disconnects the store (Redis); later calls reject. */
  close(): Promise<void>;
}

/** A call the cache cannot answer (wrong service, unknown method, malformed request). Not retryable. */
export class ActorCacheRequestError extends ShoalError {
  override readonly name = "ActorCacheRequestError";
  constructor(message: string) {
    super(message, { code: "invalid_input", retryable: false });
  }
}

/** Longest accepted key (characters). */
const MAX_KEY = 512;

/**
 * Per-actor cache (pattern signature → result) for the device actors' explanations: each actor has
 * its own namespace `<type>:<id>` (`device:<id>`) inside one Keyv store, in memory by default or in
 * Redis. Built on `createKeyvStore` (the Keyv/@keyv/redis setup the gateway uses) and the gateway's
 * `PatternCache` (an operation timeout; a failing or slow store is a miss, never an error).
 */
export async function createActorCacheService(opts: ActorCacheServiceOptions): Promise<ActorCacheService> {
  const maxPerActor = opts.maxEntriesPerActor ?? 64;
  const maxTracked = opts.maxTrackedActors ?? 100_000;
  if (!(Number.isInteger(maxPerActor) && maxPerActor >= 1)) throw new RangeError(`actorCache.maxEntriesPerActor must be an integer ≥ 1, got ${maxPerActor}`);
  if (!(Number.isFinite(opts.ttlMs) && opts.ttlMs >= 0)) throw new RangeError(`actorCache.ttlMs must be a number ≥ 0, got ${opts.ttlMs}`);
  const store = opts.store ?? "memory";
  if (store !== "memory" && !/^rediss?:\/\//.test(store)) throw new RangeError(`actorCache.store must be "memory" or a redis:// URL, got ${store}`);
  const keyv = await createKeyvStore({
    namespace: opts.prefix ?? "shoal-actor-cache",
    redisUrl: store === "memory" ? undefined : store,
    redisPassword: store === "memory" ? undefined : opts.redisPassword,
    ttlMs: opts.ttlMs > 0 ? opts.ttlMs : undefined,
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
  const cache = new PatternCache(keyv, { ttlMs: opts.ttlMs, opTimeoutMs: opts.opTimeoutMs ?? 250, clock: opts.clock ?? systemClock });
  // Keys written per actor namespace, oldest first; Map order = least recently written actor first.
  const written = new Map<string, string[]>();
  let closed = false;

  function track(ns: string, full: string): string[] {
    let keys = written.get(ns);
    if (keys === undefined) {
      if (written.size >= maxTracked) written.delete(written.keys().next().value!);
      keys = [];
    } else {
      written.delete(ns); // re-insert: most recently written last
    }
    written.set(ns, keys);
    const at = keys.indexOf(full);
    if (at >= 0) keys.splice(at, 1);
    keys.push(full);
    return keys.length > maxPerActor ? keys.splice(0, keys.length - maxPerActor) : [];
  }

  return {
    async handle(call) {
      if (closed) throw new ShoalError("actor cache is closed", { code: "closed", retryable: false });
      if (call.service !== ACTOR_CACHE_SERVICE) throw new ActorCacheRequestError(`actor cache serves service "${ACTOR_CACHE_SERVICE}", got "${call.service}"`);
      const ns = `${call.from.type}:${call.from.id}`;
      const req = call.req as Partial<ActorCacheSet> | null | undefined;
      const key = req?.key;
      if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY) {
        throw new ActorCacheRequestError(`cache.${call.method}: key must be a string of 1 to ${MAX_KEY} characters, got ${typeof key === "string" ? `${key.length} characters` : typeof key}`);
      }
      const full = `${ns}:${key}`;
      switch (call.method) {
        case "get": {
          const r = await cache.get<unknown>(full);
          const reply: ActorCacheGetReply = { value: r.hit ? r.value : null };
          return reply;
        }
        case "set": {
          if (req!.value === undefined || req!.value === null) throw new ActorCacheRequestError("cache.set: value is required (not undefined or null)");
          const stored = await cache.set(full, req!.value);
          if (stored) for (const old of track(ns, full)) void keyv.delete(old).catch(() => {});
          const reply: ActorCacheSetReply = { stored };
          return reply;
        }
        default:
          throw new ActorCacheRequestError(`cache has no method "${call.method}"; expected get or set`);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      written.clear();
      await keyv.disconnect();
    },
  };
}
