import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKvDeviceRegistry } from "../../src/adapters/nats/device-registry-kv.js";
import { sleep } from "../../src/base/clock.js";
import { forEachBounded } from "../../src/base/concurrency.js";
import type { DeviceChange, DeviceRegistry } from "../../src/ports/device-registry.js";
import type { Log } from "../../src/ports/log.js";
import { RegistryAdmission } from "../../src/registry/index.js";
import { testDeviceRecord as rec } from "../../src/registry/testing-records.js";
import { startNats, type ServiceHandle } from "../harness/index.js";

/**
 * The device registry on a real nats-server (docs/adr/0019-device-identity.md): the KV adapter's
 * create/get/list/update/delete semantics, compare-and-set between two instances on two
 * connections, the watch's order, and the strict-mode admission view following a disable.
 */
let nats: ServiceHandle;
let ncA: NatsConnection;
let ncB: NatsConnection;
const warnings: Array<{ fields: object; msg?: string }> = [];
const log: Log = {
  debug: () => {},
  info: () => {},
  warn: (fields: object | string, msg?: string) => void warnings.push({ fields: typeof fields === "string" ? {} : fields, msg: typeof fields === "string" ? fields : msg }),
  error: () => {},
};
let bucketN = 0;
/** Two registries (two connections, like two pods) on a fresh bucket. */
async function pair(): Promise<{ bucket: string; a: DeviceRegistry; b: DeviceRegistry }> {
  const bucket = `devices_${++bucketN}`;
  return { bucket, a: await createKvDeviceRegistry(ncA, { bucket, replicas: 1, log }), b: await createKvDeviceRegistry(ncB, { bucket, replicas: 1, log }) };
}
const codeOf = async (p: Promise<unknown>) => p.then(() => "no error", (e: { code?: string }) => e.code);

/** Wait (polling every 5 ms) until `ok()`, at most `ms`; the time it took. */
async function until(ok: () => boolean, ms: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!ok()) {
    if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(5);
  }
  return performance.now() - t0;
}

beforeAll(async () => {
  nats = await startNats();
  const opts = { servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 };
  ncA = await connect(opts);
  ncB = await connect(opts);
});

afterAll(async () => {
  await ncA?.close();
  await ncB?.close();
  await nats?.cleanup();
});

describe("NATS KV device registry (real NATS)", () => {
  it("creates a bucket with history 1 and the replicas asked for", async () => {
    const { bucket } = await pair();
    const info = await (await jetstreamManager(ncA)).streams.info(`KV_${bucket}`);
    expect(info.config.max_msgs_per_subject).toBe(1);
    expect(info.config.num_replicas).toBe(1);
  });

  it("creates, gets, lists in id order and refuses a taken id", async () => {
    const { a, b } = await pair();
    const d1 = await a.create(rec("dev-1", { labels: { site: "north" } }));
    expect(d1.revision).toBeGreaterThan(0);
    await a.create(rec("Dev-0"));
    await b.create(rec("dev-2"));
    expect(await b.get("dev-1")).toEqual(d1);
    expect(await b.get("missing")).toBeUndefined();
    expect(await b.get("not a valid id")).toBeUndefined();
    expect((await a.list()).map((d) => d.id)).toEqual(["Dev-0", "dev-1", "dev-2"]);
    expect(await codeOf(b.create(rec("dev-1")))).toBe("already_exists");
    expect(await codeOf(a.create(rec("bad.id")))).toBe("invalid_input");
  });

  it("updates labels by compare-and-set; a stale expected revision is a conflict; an absent device not_found", async () => {
    const { a, b } = await pair();
    const d = await a.create(rec("d"));
    const u = await b.update("d", (c) => ({ ...c, labels: { ...c.labels, floor: "2" } }), d.revision);
    expect(u.labels).toEqual({ floor: "2" });
    expect(u.revision).toBeGreaterThan(d.revision);
    expect(await a.get("d")).toEqual(u);
    expect(await codeOf(a.update("d", (c) => ({ ...c, enabled: false }), d.revision))).toBe("conflict");
    expect((await a.get("d"))?.enabled).toBe(true);
    expect(await codeOf(a.update("ghost", (c) => c))).toBe("not_found");
    expect(await codeOf(a.update("d", (c) => ({ ...c, id: "e" })))).toBe("invalid_input");
    // What the caller's function throws reaches the caller unchanged.
    const mine = new Error("refused by the caller");
    await expect(a.update("d", () => { throw mine; })).rejects.toBe(mine);
  });

  it("applies concurrent updates from two instances (each re-reads and retries): none is lost", async () => {
    const { a, b } = await pair();
    await a.create(rec("shared"));
    // Six writers at once: each can lose at most five times (once per other writer), within the retries.
    const writes = [a, a, a, b, b, b].map((r, i) => r.update("shared", (c) => ({ ...c, labels: { ...c.labels, [`w${i}`]: String(i) } })));
    const done = await Promise.all(writes);
    expect(new Set(done.map((d) => d.revision)).size).toBe(6);
    expect((await b.get("shared"))?.labels).toEqual({ w0: "0", w1: "1", w2: "2", w3: "3", w4: "4", w5: "5" });
  });

  it("deletes by purge: gone from get and list, no old value kept, the id can be registered again", async () => {
    const { bucket, a, b } = await pair();
    await a.create(rec("gone", { passwordHash: "scrypt$16384$8$1$c2FsdA==$b2xkaGFzaA==" }));
    await a.create(rec("stays"));
    expect(await b.delete("gone")).toBe(true);
    expect(await a.delete("gone")).toBe(false);
    expect(await a.delete("never")).toBe(false);
    expect(await a.get("gone")).toBeUndefined();
    expect((await b.list()).map((d) => d.id)).toEqual(["stays"]);
    const kv = await new Kvm(ncA).open(bucket);
    const history: string[] = [];
    for await (const e of await kv.history({ key: "d.gone" })) history.push(`${e.operation}:${e.string()}`);
    expect(history).toEqual(["PURGE:"]);
    const again = await b.create(rec("gone"));
    expect((await a.get("gone"))?.revision).toBe(again.revision);
  });

  it("skips a stored value that is no device record, reporting its key only", async () => {
    const { bucket, a } = await pair();
    await a.create(rec("fine"));
    const kv = await new Kvm(ncA).open(bucket);
    await kv.put("d.junk", "{not json secret-ish");
    await kv.put("d.wrongid", JSON.stringify(rec("other")));
    warnings.length = 0;
    expect((await a.list()).map((d) => d.id)).toEqual(["fine"]);
    expect(await a.get("junk")).toBeUndefined();
    expect(warnings.map((w) => (w.fields as { key: string }).key).sort()).toEqual(["d.junk", "d.junk", "d.wrongid"]);
    expect(JSON.stringify(warnings)).not.toContain("secret-ish");
  });

  it("watches: the current devices (not deleted ones), ready, then create/update/delete in order", async () => {
    const { a, b } = await pair();
    await a.create(rec("old"));
    await a.create(rec("deleted-before"));
    await a.delete("deleted-before");
    const seen: DeviceChange[] = [];
    const w = await b.watch((c) => seen.push(c));
    await w.ready;
    expect(seen.map((c) => c.id)).toEqual(["old"]);
    const n = await a.create(rec("new"));
    const u = await a.update("new", (c) => ({ ...c, labels: { k: "v" } }));
    const o = await a.update("old", (c) => ({ ...c, enabled: false }));
    await a.delete("new");
    await until(() => seen.length >= 5, 10_000, "the watch delivers four changes");
    expect(seen.slice(1).map((c) => [c.id, c.record === undefined ? "deleted" : c.record.revision])).toEqual([
      ["new", n.revision],
      ["new", u.revision],
      ["old", o.revision],
      ["new", "deleted"],
    ]);
    expect(seen[2]!.record?.labels).toEqual({ k: "v" });
    expect(seen[3]!.record?.enabled).toBe(false);
    await w.stop();
    await a.create(rec("after-stop"));
    await sleep(200);
    expect(seen).toHaveLength(5);
  });

  it("watch of an empty bucket is ready at once and sees the first device", async () => {
    const { a, b } = await pair();
    const seen: DeviceChange[] = [];
    const w = await b.watch((c) => seen.push(c));
    await w.ready;
    expect(seen).toEqual([]);
    const d = await a.create(rec("first"));
    await until(() => seen.length === 1, 10_000, "the watch sees the first device");
    expect(seen[0]).toEqual({ id: "first", record: d });
    await w.stop();
  });

  it("another instance's admission view refuses a device within a second of its disable", async () => {
    const { a, b } = await pair();
    for (let i = 0; i < 50; i++) await a.create(rec(`dev-${i}`, { enabled: i !== 7 }));
    const adm = new RegistryAdmission(b);
    await adm.start();
    expect(adm.size).toBe(50);
    expect([adm.check("dev-3"), adm.check("dev-7"), adm.check("nope")]).toEqual(["known", "disabled", "unknown"]);
    await a.update("dev-3", (c) => ({ ...c, enabled: false }));
    const tookMs = await until(() => adm.check("dev-3") === "disabled", 1_000, "dev-3 disabled in the other instance's view");
    expect(tookMs).toBeLessThan(1_000);
    await a.update("dev-7", (c) => ({ ...c, enabled: true }));
    await until(() => adm.check("dev-7") === "known", 1_000, "dev-7 enabled again");
    await a.delete("dev-10");
    await until(() => adm.check("dev-10") === "unknown", 1_000, "dev-10 deleted");
    expect(adm.size).toBe(49);
    await adm.stop();
  });

  it("loads 2,000 devices: list and a watch's initial values are complete before ready", async () => {
    const { a, b } = await pair();
    const ids = Array.from({ length: 2_000 }, (_, i) => `bulk-${String(i).padStart(4, "0")}`);
    await forEachBounded(ids, 64, async (id) => void (await a.create(rec(id, { enabled: !id.endsWith("7") }))));
    expect((await b.list()).map((d) => d.id)).toEqual(ids);
    const adm = new RegistryAdmission(b);
    await adm.start();
    expect(adm.size).toBe(2_000);
    expect(ids.filter((id) => adm.check(id) === "disabled")).toHaveLength(200);
    await adm.stop();
  });

  it("says so when a watch ends because its connection closed", async () => {
    const { bucket, a } = await pair();
    await a.create(rec("x"));
    const nc = await connect({ servers: nats.url });
    const reg = await createKvDeviceRegistry(nc, { bucket, replicas: 1, log });
    const seen: DeviceChange[] = [];
    const w = await reg.watch((c) => seen.push(c));
    await w.ready;
    expect(seen.map((c) => c.id)).toEqual(["x"]);
    warnings.length = 0;
    await nc.close();
    await until(() => warnings.some((x) => x.msg?.includes("watch ended") === true), 10_000, "a warning that the watch ended");
    await w.stop();
  });

  // Last: restarts the server.
  it("keeps the bucket and the watch across a NATS restart", async () => {
    const { a, b } = await pair();
    await a.create(rec("before"));
    const adm = new RegistryAdmission(b);
    await adm.start();
    await nats.restart();
    // The registry works again once the client has reconnected (the store errors until then).
    const after = await retryUntilUp(() => a.get("before"));
    expect(after?.id).toBe("before");
    await retryUntilUp(() => a.update("before", (c) => ({ ...c, enabled: false })));
    await until(() => adm.check("before") === "disabled", 60_000, "the watch delivers a change made after the restart");
    await adm.stop();
  });
});

/** Call `fn` until the store answers (NATS is reconnecting), at most 30 s; storage errors only. */
async function retryUntilUp<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if ((e as { code?: string }).code !== "storage_unavailable" || Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}
