import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createActorCacheService } from "../../src/adapters/keyv/actor-cache-service.js";
import type { ActorCacheService } from "../../src/adapters/keyv/actor-cache-service.js";
import type { OutCall } from "../../src/ports/actor-host.js";
import { startRedis } from "../harness/index.js";
import { sleep } from "../../src/base/clock.js";

type Redis = Awaited<ReturnType<typeof startRedis>>;

let nextId = 0;
const call = (id: string, method: string, req: unknown): OutCall => ({ from: { type: "device", id }, service: "cache", method, req, callId: ++nextId });

/** The per-actor cache in a real Redis: entries outlive the service, namespaces stay apart, an outage is a miss. */
describe("actor cache service in Redis", () => {
  let redis: Redis;
  const open: ActorCacheService[] = [];
  const service = async (extra: { maxEntriesPerActor?: number } = {}) => {
    const s = await createActorCacheService({ store: redis.url, ttlMs: 60_000, opTimeoutMs: 300, prefix: `t${Date.now()}`, ...extra });
    open.push(s);
    return s;
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(open.map((s) => s.close()));
    await redis?.cleanup();
  });

  it("serves a value written by another service instance (a restarted runtime), per actor", async () => {
    const prefix = `p${Date.now()}`;
    const a = await createActorCacheService({ store: redis.url, ttlMs: 60_000, prefix });
    expect(await a.handle(call("r1", "set", { key: "temp|abc:2", value: { summary: "disk full" } }))).toEqual({ stored: true });
    await a.close();
    const b = await createActorCacheService({ store: redis.url, ttlMs: 60_000, prefix });
    open.push(b);
    expect(await b.handle(call("r1", "get", { key: "temp|abc:2" }))).toEqual({ value: { summary: "disk full" } });
    expect(await b.handle(call("r2", "get", { key: "temp|abc:2" }))).toEqual({ value: null });
  });

  it("bounds entries per actor", async () => {
    const s = await service({ maxEntriesPerActor: 2 });
    for (const k of ["a", "b", "c"]) await s.handle(call("r3", "set", { key: k, value: k }));
    // The eviction's delete is fire-and-forget: give it a moment.
    for (let i = 0; i < 50 && ((await s.handle(call("r3", "get", { key: "a" }))) as { value: unknown }).value !== null; i++) await sleep(20);
    expect(await s.handle(call("r3", "get", { key: "a" }))).toEqual({ value: null });
    expect(await s.handle(call("r3", "get", { key: "c" }))).toEqual({ value: "c" });
  });

  it("turns a Redis outage into misses, then works again after it returns", async () => {
    const errors: unknown[] = [];
    const s = await createActorCacheService({ store: redis.url, ttlMs: 60_000, opTimeoutMs: 300, onError: (e) => errors.push(e) });
    open.push(s);
    await s.handle(call("r4", "set", { key: "k", value: 1 }));
    await redis.kill();
    const t0 = Date.now();
    expect(await s.handle(call("r4", "get", { key: "k" }))).toEqual({ value: null });
    expect(await s.handle(call("r4", "set", { key: "k2", value: 2 }))).toEqual({ stored: false });
    expect(Date.now() - t0).toBeLessThan(3_000); // two operations bounded by opTimeoutMs, not by Redis' connect retries
    await redis.restart();
    let v: unknown = null;
    // The client reconnects with backoff (≤ 1 s between attempts).
    for (let i = 0; i < 200 && v === null; i++) {
      v = ((await s.handle(call("r4", "get", { key: "k" }))) as { value: unknown }).value;
      if (v === null) await sleep(100);
    }
    expect(v).toBe(1); // append-only file: the entry survived the restart
  }, 40_000);
});
