/**
 * The per-actor cache as actors call it (`ctx.call(ACTOR_CACHE_SERVICE, "get" | "set", …)`): each
 * actor sees its own namespace (the service prefixes keys with `<type>:<id>`). Implemented by
 * src/adapters/keyv/actor-cache-service.ts; used by device actors for pattern → explanation.
 */

/** Service name of the per-actor cache for ctx.call. */
export const ACTOR_CACHE_SERVICE = "cache";

/** Request of `get`: the value stored under `key` for the calling actor. */
export interface ActorCacheGet {
  readonly key: string;
}
/** Reply of `get`: the stored value, or null on a miss. */
export interface ActorCacheGetReply {
  readonly value: unknown;
}
/** Request of `set`. */
export interface ActorCacheSet {
  readonly key: string;
  readonly value: unknown;
}
/** Reply of `set`. */
export interface ActorCacheSetReply {
  readonly stored: boolean;
}
