import { describe, expect, it } from "vitest";
import type { OutCall } from "../../ports/actor-host.js";
import { ActorCacheRequestError, createActorCacheService } from "./actor-cache-service.js";
import { sleep } from "../../base/clock.js";

let nextId = 0;
const call = (id: string, method: string, req: unknown, service = "cache"): OutCall => ({ from: { type: "device", id }, service, method, req, callId: ++nextId });

describe("actor cache service (in memory)", () => {
  it("stores and returns values per actor namespace", async () => {
    const svc = await createActorCacheService({ ttlMs: 60_000 });
    try {
      expect(await svc.handle(call("d1", "get", { key: "temp|abc" }))).toEqual({ value: null });
      expect(await svc.handle(call("d1", "set", { key: "temp|abc", value: { summary: "s" } }))).toEqual({ stored: true });
      expect(await svc.handle(call("d1", "get", { key: "temp|abc" }))).toEqual({ value: { summary: "s" } });
      // Another actor's namespace does not see it.
      expect(await svc.handle(call("d2", "get", { key: "temp|abc" }))).toEqual({ value: null });
    } finally {
      await svc.close();
    }
  });

  it("keeps at most maxEntriesPerActor entries per actor (oldest written goes first)", async () => {
    const svc = await createActorCacheService({ ttlMs: 0, maxEntriesPerActor: 2 });
    try {
      for (const k of ["a", "b", "c"]) await svc.handle(call("d1", "set", { key: k, value: k }));
      await svc.handle(call("d2", "set", { key: "a", value: "other" }));
      await sleep(10); // eviction deletes are fire-and-forget
      expect(await svc.handle(call("d1", "get", { key: "a" }))).toEqual({ value: null });
      expect(await svc.handle(call("d1", "get", { key: "c" }))).toEqual({ value: "c" });
      expect(await svc.handle(call("d2", "get", { key: "a" }))).toEqual({ value: "other" });
    } finally {
      await svc.close();
    }
  });

  it("expires entries after ttlMs", async () => {
    const svc = await createActorCacheService({ ttlMs: 20 });
    try {
      await svc.handle(call("d1", "set", { key: "k", value: 1 }));
      await sleep(40);
      expect(await svc.handle(call("d1", "get", { key: "k" }))).toEqual({ value: null });
    } finally {
      await svc.close();
    }
  });

  it("rejects bad calls with exact messages, and calls after close", async () => {
    const svc = await createActorCacheService({ ttlMs: 1000 });
    await expect(svc.handle(call("d1", "get", { key: "k" }, "gateway"))).rejects.toThrow('actor cache serves service "cache", got "gateway"');
    await expect(svc.handle(call("d1", "nope", { key: "k" }))).rejects.toThrow('cache has no method "nope"; expected get or set');
    await expect(svc.handle(call("d1", "get", {}))).rejects.toThrow("cache.get: key must be a string of 1 to 512 characters, got undefined");
    await expect(svc.handle(call("d1", "set", { key: "k" }))).rejects.toBeInstanceOf(ActorCacheRequestError);
    await svc.close();
    await expect(svc.handle(call("d1", "get", { key: "k" }))).rejects.toThrow("actor cache is closed");
  });

  it("validates its options", async () => {
    await expect(createActorCacheService({ ttlMs: -1 })).rejects.toThrow("actorCache.ttlMs must be a number ≥ 0, got -1");
    await expect(createActorCacheService({ ttlMs: 1, maxEntriesPerActor: 0 })).rejects.toThrow("actorCache.maxEntriesPerActor must be an integer ≥ 1, got 0");
    await expect(createActorCacheService({ ttlMs: 1, store: "memcached://x" })).rejects.toThrow('actorCache.store must be "memory" or a redis:// URL, got memcached://x');
  });
});
