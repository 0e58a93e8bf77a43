import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { KvSnapshotStore, actorKey, decodeSnapshot, encodeSnapshot } from "../../src/adapters/nats/kv-snapshot-store.js";
import { createInlineHost } from "../../src/runtime/inline-host.js";
import { createCounterActor, type CounterState } from "../../src/runtime/testing/test-actors.js";
import { startNats } from "../harness/index.js";

let nats: Awaited<ReturnType<typeof startNats>>;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await nats?.cleanup();
});

describe("KvSnapshotStore (real NATS KV)", () => {
  it("round-trips snapshots (state bytes + lastDeviceSeq + streamSeq) and checkpoints", async () => {
    const store = await KvSnapshotStore.create(nc, { bucket: "snap-rt" });
    const state = new Uint8Array([1, 2, 3, 250]);
    await store.putMany([
      { actorType: "device", actorId: "dev:01-a_b", snapshot: { state, lastDeviceSeq: 42, streamSeq: 9_007_199_254 } },
      { actorType: "device", actorId: "plain", snapshot: { state: new Uint8Array(), lastDeviceSeq: 0, streamSeq: 0 } },
    ]);
    const got = await store.getMany([
      { actorType: "device", actorId: "dev:01-a_b" },
      { actorType: "device", actorId: "missing" },
      { actorType: "device", actorId: "plain" },
    ]);
    expect(got[0]).toEqual({ state, lastDeviceSeq: 42, streamSeq: 9_007_199_254 });
    expect(got[1]).toBeUndefined();
    expect(got[2]!.state).toHaveLength(0);
    expect(await store.getCheckpoint(3)).toBeUndefined();
    await store.putCheckpoint(3, 1234);
    expect(await store.getCheckpoint(3)).toBe(1234);
    await store.close();
  });

  it("keeps a released partition's timers for its next owners (in chunks) until they are replaced", async () => {
    const store = await KvSnapshotStore.create(nc, { bucket: "snap-timers" });
    expect(await store.readTimers(5)).toEqual([]);
    const timers = Array.from({ length: 20_000 }, (_, i) => ({ actorType: "device", actorId: `dev-${i}`, name: "heartbeat", inMs: i % 60_000, msg: { type: "heartbeat-timeout" } }));
    await store.putTimers(5, timers.slice(0, 3)); // replaced by the next put
    await store.putTimers(5, timers);
    expect(await store.readTimers(5)).toEqual(timers);
    expect(await store.readTimers(5)).toEqual(timers); // still there: an owner that crashes before its own checkpoint leaves them
    await store.putTimers(5, []);
    expect(await store.readTimers(5)).toEqual([]);
    // Kept with the time they were read at (periodic checkpoints): taken later, they have less left.
    await store.putTimers(6, timers.slice(0, 3), 1_000_000);
    expect((await store.readTimers(6, 1_000_500)).map((t) => t.inMs)).toEqual([0, 0, 0]);
    await store.putTimers(6, [{ ...timers[0]!, inMs: 10_000 }], 1_000_000);
    expect((await store.readTimers(6, 1_004_000)).map((t) => t.inMs)).toEqual([6000]);
    await store.close();
  });

  it("escapes ids into valid, distinct KV keys", () => {
    expect(actorKey("device", "abc-1_2")).toBe("a.device.abc-1_2");
    expect(actorKey("device", "a:b")).toBe("a.device.a=3ab");
    expect(actorKey("device", "a=3ab")).not.toBe(actorKey("device", "a:b"));
    expect(decodeSnapshot(encodeSnapshot({ state: new Uint8Array([7]), lastDeviceSeq: 1, streamSeq: 2 }))).toEqual({ state: new Uint8Array([7]), lastDeviceSeq: 1, streamSeq: 2 });
  });

  it("serves an inline host: passivated actors come back from the bucket after a restart", async () => {
    const store = await KvSnapshotStore.create(nc, { bucket: "snap-host" });
    const logic = createCounterActor();
    const host = createInlineHost({ logics: [logic], snapshots: store, partitions: 4, commitMode: "on-return" });
    const batch = Array.from({ length: 200 }, (_, i) => ({ actorType: "counter", actorId: `d${i % 20}`, partition: 0, streamSeq: i + 1, msg: { type: "add", n: 1, seq: Math.floor(i / 20) + 1 } }));
    await host.deliver(batch);
    await host.close();
    const again = createInlineHost({ logics: [logic], snapshots: store, partitions: 4 });
    await again.deliver([{ actorType: "counter", actorId: "d3", partition: 0, streamSeq: 201, msg: { type: "add", n: 5, seq: 11 } as never }]);
    const s = again.peek("counter", "d3") as CounterState;
    expect(s.total).toBe(15);
    expect(s.log).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    await again.close();
  });
});
