import { describe, expect, it } from "vitest";
import type { BatchEffects, Envelope } from "../ports/actor-host.js";
import { rowObjects } from "../domain/row-batch.js";
import { SimClock } from "../base/testing/sim-clock.js";
import { createInlineHost, type InlineHostOptions } from "./inline-host.js";
import { partitionFor } from "./partition.js";
import { MemoryJournal } from "./testing/memory-journal.js";
import { MemorySnapshotStore } from "./testing/memory-snapshot-store.js";
import { RecordingMetrics } from "./testing/recording-metrics.js";
import { createCounterActor, type CounterMsg, type CounterState } from "./testing/test-actors.js";

const P = 4;
const part = partitionFor(P);
let seq = 0;
function env(id: string, msg: CounterMsg, streamSeq = ++seq): Envelope {
  return { actorType: "counter", actorId: id, partition: part("counter", id), streamSeq, msg };
}
const add = (id: string, s: number, n = 1) => env(id, { type: "add", n, seq: s });

function setup(over: Partial<InlineHostOptions> = {}) {
  const clock = new SimClock();
  const store = new MemorySnapshotStore();
  const background: BatchEffects[] = [];
  const host = createInlineHost({
    logics: [createCounterActor()],
    snapshots: store,
    clock,
    partitions: P,
    defer: (fn) => setImmediate(fn),
    onEffects: (e) => background.push(e),
    ...over,
  });
  const state = (id: string) => host.peek("counter", id) as CounterState | undefined;
  return { clock, store, host, background, state };
}

describe("inline host", () => {
  it("gives every turn of a slice the clock's time when the slice began (ctx.now)", async () => {
    const seen: number[] = [];
    const sim = new SimClock();
    // Each turn takes 1 ms of the clock: the turns of one slice still see its start.
    const clockActor = { type: "clock", initial: () => 0, receive: (st: number, _m: unknown, ctx: { now(): number }) => (seen.push(ctx.now()), sim.advanceSync(1), st + 1) };
    const { host } = setup({ logics: [clockActor as never], clock: sim });
    const at = (id: string) => ({ actorType: "clock", actorId: id, partition: part("clock", id), streamSeq: ++seq, msg: { type: "tick" } });
    const t0 = sim.now();
    await host.deliver([at("a"), at("b"), at("a")]);
    sim.advanceSync(250);
    await host.deliver([at("a")]);
    expect(seen).toEqual([t0, t0, t0, t0 + 253]);
  });

  it("runs turns in order per actor and returns the batch's effects", async () => {
    const { host, state } = setup();
    const fx = await host.deliver([add("a", 1), add("b", 1), add("a", 2), add("a", 3), add("b", 2)]);
    expect(state("a")!.log).toEqual([1, 2, 3]);
    expect(state("b")!.log).toEqual([1, 2]);
    expect(rowObjects(fx.rows.get("counts")).filter((r) => r.id === "a").map((r) => r.seq)).toEqual([1, 2, 3]);
    await host.close();
  });

  it("dead-letters unknown actor types without stopping the batch", async () => {
    const { host, state } = setup();
    const bad: Envelope = { actorType: "nope", actorId: "x", partition: 0, streamSeq: 1, msg: { type: "add" } };
    const fx = await host.deliver([bad, add("a", 1)]);
    expect(fx.deadLetters).toHaveLength(1);
    expect(fx.deadLetters[0]!.code).toBe("unknown_actor_type");
    expect(fx.deadLetters[0]!.stage).toBe("runtime");
    expect(state("a")!.total).toBe(1);
    await host.close();
  });

  it("restarts a throwing actor from its last good state with backoff; the failed turns have no effects", async () => {
    const { host, clock, state } = setup({ maxAttempts: 5, backoffBaseMs: 100 });
    const p = host.deliver([add("a", 1), env("a", { type: "fail", seq: 2, times: 2 }), add("a", 3), add("b", 1)]);
    await new Promise((r) => setImmediate(r));
    // b is not blocked by a's backoff.
    expect(state("b")!.total).toBe(1);
    expect(state("a")!.log).toEqual([1]);
    clock.advanceSync(100); // retry 2 fails, backoff 200
    clock.advanceSync(200);
    const fx = await p;
    expect(state("a")!.log).toEqual([1, 2, 3]);
    // Only the successful attempt's event survives.
    expect(fx.events.filter((e) => e.subject === "attempt")).toHaveLength(1);
    const stats = (await host.introspect()).workers[0]!;
    expect(stats.restarts).toBe(2);
    await host.close();
  });

  it("dead-letters a message that fails K times, with the error, and goes on", async () => {
    const { host, clock, state } = setup({ maxAttempts: 3, backoffBaseMs: 10 });
    const p = host.deliver([add("a", 1), env("a", { type: "fail", seq: 2, times: 99 }), add("a", 3)]);
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advanceSync(1000);
    }
    const fx = await p;
    expect(fx.deadLetters).toHaveLength(1);
    expect(fx.deadLetters[0]!.reason).toMatch(/fail a:2 attempt 3/);
    expect(fx.deadLetters[0]!.envelope.msg.type).toBe("fail");
    expect(state("a")!.log).toEqual([1, 3]);
    await host.close();
  });

  it("bounds mailboxes: a stalled actor parks the batch instead of queueing without limit", async () => {
    const { host, clock, state } = setup({ mailboxCapacity: 4, queueCapacity: 8, backoffBaseMs: 1000, maxAttempts: 2 });
    const batch = [env("a", { type: "fail", seq: 1, times: 1 })];
    for (let i = 2; i <= 40; i++) batch.push(add("a", i));
    let done = false;
    const p = host.deliver(batch).then((fx) => ((done = true), fx));
    await new Promise((r) => setImmediate(r));
    const s1 = (await host.introspect()).workers[0]!;
    expect(s1.mailboxDepth).toBeLessThanOrEqual(4);
    expect(s1.maxMailboxDepth).toBeLessThanOrEqual(4);
    expect(host.credit(0)).toBe(0); // 36 messages parked > free slots
    expect(done).toBe(false);
    clock.advanceSync(1000);
    await p;
    expect(state("a")!.log).toHaveLength(40);
    expect((await host.introspect()).workers[0]!.mailboxDepth).toBe(0);
    await host.close();
  });

  it("fires timers on the clock (heartbeat) and reports their effects in the background", async () => {
    const { host, clock, background, state } = setup();
    await host.deliver([add("a", 1)]);
    clock.advanceSync(999);
    await new Promise((r) => setImmediate(r));
    expect(state("a")!.timeouts).toBe(0);
    await host.deliver([add("a", 2)]); // re-armed: due at 999 + 1000
    clock.advanceSync(999);
    expect(state("a")!.timeouts).toBe(0);
    clock.advanceSync(1);
    await new Promise((r) => queueMicrotask(() => r(undefined)));
    expect(state("a")!.timeouts).toBe(1);
    expect(background.flatMap((b) => b.events).map((e) => e.subject)).toEqual(["offline.a"]);
    await host.close();
  });

  it("hands a released partition's pending timers over: the next owner fires them on time", async () => {
    const a = setup();
    const batch = [add("a", 1), add("b", 1)];
    await a.host.deliver(batch); // heartbeat due at +1000
    for (const e of batch) a.host.committed(e.partition, e.streamSeq); // rows durable: snapshots may be written
    a.clock.advanceSync(400);
    const pa = part("counter", "a");
    const pb = part("counter", "b");
    const handed = [...(await a.host.releasePartition(pa)), ...(pa === pb ? [] : await a.host.releasePartition(pb))];
    expect(handed.map((t) => [t.actorId, t.name, t.inMs]).sort()).toEqual([
      ["a", "heartbeat", 600],
      ["b", "heartbeat", 600],
    ]);
    await a.host.close();
    const b = setup({ snapshots: a.store });
    for (const p of new Set([pa, pb])) await b.host.restoreTimers(p, handed.filter((t) => part("counter", t.actorId) === p));
    b.clock.advanceSync(599);
    await new Promise((r) => setImmediate(r));
    expect(b.background.flatMap((x) => x.events)).toEqual([]);
    b.clock.advanceSync(1);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(b.background.flatMap((x) => x.events).map((e) => e.subject).sort()).toEqual(["offline.a", "offline.b"]);
    expect(b.state("a")!.timeouts).toBe(1);
    expect(b.state("a")!.total).toBe(1); // activated from the snapshot the release wrote
    await b.host.close();
  });

  it("passivates idle actors after a snapshot and re-activates them with the same state", async () => {
    const { host, clock, store, state } = setup({ passivateAfterMs: 5000 });
    await host.deliver([add("a", 1, 5), add("a", 2, 7)]);
    host.committed(part("counter", "a"), seq);
    clock.advanceSync(6000);
    await host.flushSnapshots();
    expect(state("a")).toBeUndefined();
    expect(store.snapshots.get("counter/a")!.lastDeviceSeq).toBe(2);
    expect(store.snapshots.get("counter/a")!.streamSeq).toBe(seq);
    await host.deliver([add("a", 3, 1)]);
    expect(state("a")!.total).toBe(13);
    expect(state("a")!.log).toEqual([1, 2, 3]);
    const st = (await host.introspect()).workers[0]!;
    expect(st.passivations).toBe(1);
    expect(st.activations).toBe(2);
    await host.close();
  });

  it("keeps timers of passivated actors: the timer re-activates the actor", async () => {
    const { host, clock, state, background } = setup({ passivateAfterMs: 200 });
    await host.deliver([add("a", 1)]);
    host.committed(part("counter", "a"), seq);
    clock.advanceSync(500); // passivated, heartbeat due at 1000
    expect(state("a")).toBeUndefined();
    clock.advanceSync(500);
    await new Promise((r) => setImmediate(r));
    expect(state("a")!.timeouts).toBe(1);
    expect(background.flatMap((b) => b.events)).toHaveLength(1);
    await host.close();
  });

  it("reads and hands off one partition's parked timers, leaving the other partitions' armed", async () => {
    const { host, clock, state, background } = setup({ passivateAfterMs: 200 });
    const ids = Array.from({ length: 40 }, (_, i) => `t${i}`);
    const pa = part("counter", ids[0]!);
    const inA = ids.filter((id) => part("counter", id) === pa);
    const others = ids.filter((id) => part("counter", id) !== pa);
    expect(others.length).toBeGreaterThan(0);
    await host.deliver(ids.map((id) => add(id, 1)));
    for (let q = 0; q < P; q++) host.committed(q, seq);
    clock.advanceSync(500); // all passivated, their heartbeats parked (due at 1000)
    expect(ids.filter((id) => state(id) !== undefined)).toEqual([]);
    expect((await host.pendingTimers(pa)).map((t) => t.actorId).sort()).toEqual([...inA].sort());
    const handed = await host.releasePartition(pa);
    expect(handed.map((t) => t.actorId).sort()).toEqual([...inA].sort());
    expect(await host.pendingTimers(pa)).toEqual([]);
    clock.advanceSync(500);
    await new Promise((r) => setImmediate(r));
    // Only the partitions still owned time out; the handed-off partition's timers were cancelled here.
    expect(background.flatMap((b) => b.events)).toHaveLength(others.length);
    for (const id of others) expect(state(id)!.timeouts).toBe(1);
    await host.close();
  });

  it("caps active actors with LRU passivation, adjustable at run time", async () => {
    const { host, state } = setup({ maxActiveActors: 10 });
    const ids = Array.from({ length: 50 }, (_, i) => `d${i}`);
    await host.deliver(ids.map((id) => add(id, 1, 2)));
    let st = (await host.introspect()).workers[0]!;
    expect(st.activeByType.counter).toBeLessThanOrEqual(10);
    // The most recently used stay.
    expect(state("d49")!.total).toBe(2);
    await host.deliver(ids.map((id) => add(id, 2, 3)));
    // d40..d49 were active and ran first; d0..d39 ran after their activation, so d30..d39 stay.
    expect(ids.filter((id) => state(id) !== undefined)).toEqual(ids.slice(30, 40));
    for (const id of ids.slice(30, 40)) expect(state(id)!.total).toBe(5);
    await host.setLimits({ maxActiveActors: 3 });
    st = (await host.introspect()).workers[0]!;
    expect(st.activeByType.counter).toBe(3);
    await host.close();
  });

  it("disposes of each state once when its actor is passivated or its partition dropped, never while in use", async () => {
    const logic = createCounterActor();
    const disposed: CounterState[] = [];
    const counting = { ...logic, dispose: (s: CounterState) => disposed.push(s) };
    const { host, state } = setup({ logics: [counting], maxActiveActors: 5 });
    const ids = Array.from({ length: 20 }, (_, i) => `d${i}`);
    await host.deliver(ids.map((id) => add(id, 1)));
    expect(disposed.length).toBe(15); // LRU passivation
    const live = ids.map(state).filter((s) => s !== undefined);
    expect(live.length).toBe(5);
    for (const s of live) expect(disposed).not.toContain(s);
    expect(new Set(disposed).size).toBe(disposed.length);
    const p = part("counter", "d19"); // d19 ran last: active
    const inP = ids.filter((id) => part("counter", id) === p && state(id) !== undefined).map((id) => state(id)!);
    expect(inP.length).toBeGreaterThan(0);
    await host.resetPartition(p); // drops the partition's active actors
    expect(disposed.length).toBe(15 + inP.length);
    for (const s of inP) expect(disposed).toContain(s);
    expect(new Set(disposed).size).toBe(disposed.length);
    await host.close();
  });

  it("never writes a snapshot containing uncommitted messages", async () => {
    const { host, store } = setup({ snapshotEveryMessages: 1 });
    await host.deliver([add("a", 1)]);
    const s1 = seq;
    await host.deliver([add("a", 2)]);
    await host.flushSnapshots();
    expect(store.snapshots.has("counter/a")).toBe(false);
    host.committed(part("counter", "a"), s1);
    await host.flushSnapshots();
    expect(store.snapshots.has("counter/a")).toBe(false); // the only pending one contains seq s1+1
    host.committed(part("counter", "a"), seq);
    await host.flushSnapshots();
    expect(store.snapshots.get("counter/a")!.lastDeviceSeq).toBe(2);
    expect(store.checkpoints.get(part("counter", "a"))).toBe(seq + 1);
    await host.close();
  });

  it("broadcasts to every active actor and resolves calls as messages", async () => {
    const { host, state } = setup();
    await host.deliver([add("a", 1), add("b", 1)]);
    await host.broadcast({ type: "config", v: 7 } as CounterMsg);
    expect(state("a")!.config).toBe(7);
    expect(state("b")!.config).toBe(7);
    await host.close();
  });

  it("delivers sends between actors within the same batch", async () => {
    const { host, state } = setup();
    const fx = await host.deliver([env("a", { type: "forward", to: "b", n: 5, seq: 1 })]);
    expect(state("b")!.total).toBe(5);
    expect(fx.rows.get("counts")).toHaveLength(1);
    await host.close();
  });

  it("resetPartition forgets uncommitted state and replays committed messages (state only)", async () => {
    const journal = new MemoryJournal();
    const { host, state } = setup({ journal, snapshotEveryMessages: 2 });
    const p = part("counter", "a");
    const b1 = journal.append(p, [{ actorType: "counter", actorId: "a", msg: { type: "add", n: 1, seq: 1 } }]);
    const b2 = journal.append(p, [{ actorType: "counter", actorId: "a", msg: { type: "add", n: 10, seq: 2 } }]);
    const b3 = journal.append(p, [{ actorType: "counter", actorId: "a", msg: { type: "add", n: 100, seq: 3 } }]);
    await host.deliver(b1);
    await host.deliver(b2);
    host.committed(p, b2[0]!.streamSeq);
    await host.deliver(b3); // its rows fail: nak + reset
    await host.resetPartition(p);
    expect(state("a")).toBeUndefined();
    const fx = await host.deliver(b3); // redelivery is applied again, with its effects
    expect(rowObjects(fx.rows.get("counts")).map((r) => r.seq)).toEqual([3]);
    expect(state("a")!.total).toBe(111);
    expect(state("a")!.log).toEqual([1, 2, 3]);
    await host.close();
  });

  it("recovers after a process restart: snapshot + replay from the checkpoint, effects suppressed", async () => {
    const journal = new MemoryJournal();
    const store = new MemorySnapshotStore();
    const first = setup({ journal, snapshots: store, snapshotEveryMessages: 3 });
    const p = part("counter", "a");
    for (let i = 1; i <= 10; i++) {
      const b = journal.append(p, [{ actorType: "counter", actorId: "a", msg: { type: "add", n: i, seq: i } }]);
      await first.host.deliver(b);
      first.host.committed(p, b[0]!.streamSeq);
    }
    await first.host.flushSnapshots(); // snapshots at 3, 6, 9 (9 durable), checkpoint 10
    const expected = structuredClone(first.state("a"));
    // SIGKILL: no close().
    const second = setup({ journal, snapshots: store });
    await second.host.recover(p, journal.lastSeq);
    expect(second.state("a")).toEqual(expected);
    expect(second.store.puts).toBe(0);
    await second.host.close();
  });

  it("encodes rows of declared tables as RowBinary with encodeRows (a row that does not fit stays an object); others stay objects", async () => {
    const counts = { columns: [{ name: "id", type: "String" }, { name: "seq", type: "UInt64" }, { name: "total", type: "Int64" }] } as const;
    const { host } = setup({ logics: [{ ...createCounterActor(), rowSchemas: { counts } }], encodeRows: true });
    // n = 0.5 makes a non-integer total: not an Int64, so that row travels as an object.
    const fx = await host.deliver([add("a", 1, 2), add("a", 2, 0.5), add("b", 1, -7)]);
    const rows = fx.rows.get("counts")!;
    expect(rows.binary?.rows).toBe(2);
    expect(rows.objects).toEqual([{ id: "a", seq: 2, total: 2.5 }]);
    expect(rowObjects(rows)).toEqual(expect.arrayContaining([{ id: "a", seq: 1, total: 2 }, { id: "b", seq: 1, total: -7 }, { id: "a", seq: 2, total: 2.5 }]));
    const plain = setup({ logics: [{ ...createCounterActor(), rowSchemas: { counts } }] });
    expect((await plain.host.deliver([add("a", 1)])).rows.get("counts")!.binary).toBeNull();
    await host.close();
    await plain.host.close();
  });

  it("refuses two logics that declare one table with different columns", () => {
    const a = { ...createCounterActor(), rowSchemas: { counts: { columns: [{ name: "id", type: "String" as const }] } } };
    const b = { ...createCounterActor(), type: "other", rowSchemas: { counts: { columns: [{ name: "id", type: "UInt64" as const }] } } };
    expect(() => setup({ logics: [a, b], encodeRows: true })).toThrow(/actor type other declares table counts with other columns/);
  });

  it("publishes introspection as metrics", async () => {
    const metrics = new RecordingMetrics();
    const { host } = setup({ metrics });
    await host.deliver([add("a", 1), add("b", 1)]);
    await host.introspect();
    expect(metrics.values.get("shoal_runtime_turns_total{worker=0}")).toBe(2);
    expect(metrics.values.get("shoal_runtime_active_actors{worker=0,actor_type=counter}")).toBe(2);
    await host.close();
  });
});
