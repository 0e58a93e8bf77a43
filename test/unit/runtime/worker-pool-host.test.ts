import { afterEach, describe, expect, it } from "vitest";
import type { Envelope } from "../../../src/ports/actor-host.js";
import { rowObjects } from "../../../src/domain/row-batch.js";
import { partitionFor, workerFor } from "../../../src/runtime/partition.js";
import { MemoryJournal } from "../../../src/runtime/testing/memory-journal.js";
import { MemorySnapshotStore } from "../../../src/runtime/testing/memory-snapshot-store.js";
import type { CounterState } from "../../../src/runtime/testing/test-actors.js";
import { WorkerPoolHost, type WorkerPoolHostOptions } from "../../../src/runtime/worker-pool-host.js";

const P = 8;
const part = partitionFor(P);
const actorsModule = new URL("../../../src/runtime/testing/test-actors.ts", import.meta.url).href;
const hosts: WorkerPoolHost[] = [];

async function start(over: Partial<WorkerPoolHostOptions> = {}) {
  const store = new MemorySnapshotStore();
  const host = await WorkerPoolHost.create({
    logics: [
      { module: actorsModule, export: "counterActor" },
      { module: actorsModule, export: "crashActor" },
    ],
    snapshots: store,
    workers: 2,
    partitions: P,
    ...over,
  });
  hosts.push(host);
  return { host, store };
}

afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});

/** Journal with `n` add messages per device over `ids`, one journal message per reading. */
function fill(journal: MemoryJournal, ids: readonly string[], n: number): Envelope[][] {
  const byPart = new Map<number, Envelope[]>();
  for (let s = 1; s <= n; s++) {
    for (const id of ids) {
      const p = part("counter", id);
      const [e] = journal.append(p, [{ actorType: "counter", actorId: id, msg: { type: "add", n: s, seq: s } }]);
      let arr = byPart.get(p);
      if (arr === undefined) byPart.set(p, (arr = []));
      arr.push(e!);
    }
  }
  const batches: Envelope[][] = [];
  for (const envs of byPart.values()) for (let i = 0; i < envs.length; i += 50) batches.push(envs.slice(i, i + 50));
  return batches;
}


describe("WorkerPoolHost", () => {
  it("pins partitions to workers and runs batches across threads in order", async () => {
    const { host } = await start();
    const journal = new MemoryJournal();
    const ids = Array.from({ length: 40 }, (_, i) => `dev-${i}`);
    const batches = fill(journal, ids, 20);
    const rows: { id: string; seq: number; total: number }[] = [];
    await Promise.all(
      batches.map(async (b) => {
        const fx = await host.deliver(b);
        for (const r of rowObjects(fx.rows.get("counts"))) rows.push(r as never);
      }),
    );
    for (const id of ids) {
      const mine = rows.filter((r) => r.id === id);
      expect(mine.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(mine.at(-1)!.total).toBe(210);
    }
    const view = await host.introspect();
    expect(view.workers).toHaveLength(2);
    for (const w of view.workers) {
      for (const p of w.partitions) expect(workerFor(p, 2)).toBe(w.worker);
      expect(w.turns).toBeGreaterThan(0);
    }
    expect(view.workers.reduce((a, w) => a + (w.activeByType.counter ?? 0), 0)).toBe(40);
  });

  it("routes sends to actors on other workers within the same deliver", async () => {
    const { host } = await start();
    // Find two ids on different workers.
    const a = "a0";
    let b = "b0";
    for (let i = 0; workerFor(part("counter", b), 2) === workerFor(part("counter", a), 2); i++) b = `b${i}`;
    const fx = await host.deliver([{ actorType: "counter", actorId: a, partition: part("counter", a), streamSeq: 1, msg: { type: "forward", to: b, n: 9, seq: 1 } as never }]);
    expect(rowObjects(fx.rows.get("counts"))).toEqual([{ id: b, seq: 1, total: 9 }]);
  });

  it("replaces a killed worker and re-runs its batches: no row lost, none doubled, state rebuilt", async () => {
    const journal = new MemoryJournal();
    const { host } = await start({ journal, snapshotEveryMessages: 7 });
    const ids = Array.from({ length: 30 }, (_, i) => `k-${i}`);
    const batches = fill(journal, ids, 30);
    const rows = new Map<string, { seq: number; total: number }[]>();
    let killed = 0;
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i]!;
      const p = host.deliver(b);
      if (i === 5 || i === Math.floor(batches.length / 2)) {
        killed++;
        await host.killWorker(workerFor(b[0]!.partition, 2));
      }
      const fx = await p;
      for (const r of rowObjects(fx.rows.get("counts")) as { id: string; seq: number; total: number }[]) {
        const arr = rows.get(r.id) ?? [];
        arr.push(r);
        rows.set(r.id, arr);
      }
      for (const part of new Set(b.map((e) => e.partition))) host.committed(part, Math.max(...b.filter((e) => e.partition === part).map((e) => e.streamSeq)));
    }
    expect(killed).toBe(2);
    for (const id of ids) {
      const r = rows.get(id)!;
      expect(r.map((x) => x.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(r.at(-1)!.total).toBe(465);
    }
    const view = await host.introspect();
    expect(view.workerRestarts).toBe(2);
    // State after recovery continues correctly.
    const fx = await host.deliver(ids.map((id) => ({ actorType: "counter", actorId: id, partition: part("counter", id), streamSeq: 0, msg: { type: "add", n: 1, seq: 31 } })));
    for (const r of rowObjects(fx.rows.get("counts")) as { total: number }[]) expect(r.total).toBe(466);
  });

  it("rejects a batch that kills the worker every time with a non-retryable WorkerCrashedError", async () => {
    const { host } = await start({ maxAttempts: 2 });
    const poison: Envelope = { actorType: "crasher", actorId: "x", partition: part("crasher", "x"), streamSeq: 1, msg: { type: "crash", seq: 1 } as never };
    await expect(host.deliver([poison])).rejects.toMatchObject({ name: "WorkerCrashedError", retryable: false });
    // The replacement serves later batches.
    const fx = await host.deliver([{ actorType: "counter", actorId: "x", partition: part("counter", "x"), streamSeq: 2, msg: { type: "add", n: 1, seq: 1 } as never }]);
    expect(fx.rows.get("counts")).toHaveLength(1);
    expect((await host.introspect()).workerRestarts).toBe(2);
  });

  it("journal batches of several partitions pulled in one turn cross together, each with its own effects; a poison batch among them fails alone", async () => {
    const { host } = await start({ maxAttempts: 2, decoder: { module: actorsModule, export: "counterJournalDecoder" } });
    const enc = new TextEncoder();
    // Two partitions on worker 0: the crasher's, and another one with counters.
    const pc = part("crasher", "x");
    const ids = Array.from({ length: 200 }, (_, i) => `c-${i}`).filter((id) => workerFor(part("counter", id), 2) === workerFor(pc, 2) && part("counter", id) !== pc);
    const pg = part("counter", ids[0]!);
    const good = ids.filter((id) => part("counter", id) === pg).map((id, k) => ({ data: enc.encode(JSON.stringify({ id, n: 5, seq: 1 })), streamSeq: k + 1 }));
    const poison = [{ data: enc.encode(JSON.stringify({ id: "x", crash: 1 })), streamSeq: 1 }];
    const [g, b] = await Promise.allSettled([host.deliverJournal(pg, good), host.deliverJournal(pc, poison)]);
    expect(g.status).toBe("fulfilled");
    expect((g as PromiseFulfilledResult<Awaited<ReturnType<typeof host.deliverJournal>>>).value.rows.get("counts")).toHaveLength(good.length);
    expect(b).toMatchObject({ status: "rejected", reason: { name: "WorkerCrashedError", retryable: false } });
    // Several partitions at once, each batch's rows its own.
    const parts = [...new Set(Array.from({ length: 64 }, (_, i) => `m-${i}`).map((id) => part("counter", id)))];
    const results = await Promise.all(
      parts.map((p) => host.deliverJournal(p, Array.from({ length: 64 }, (_, i) => `m-${i}`).filter((id) => part("counter", id) === p).map((id, k) => ({ data: enc.encode(JSON.stringify({ id, n: 1, seq: 1 })), streamSeq: 100 + k })))),
    );
    const expected = parts.map((p) => Array.from({ length: 64 }, (_, i) => `m-${i}`).filter((id) => part("counter", id) === p).length);
    expect(results.map((r) => r.rows.get("counts")?.length ?? 0)).toEqual(expected);
  });

  it("snapshots on close through the main thread's store and restores in a new host", async () => {
    const { host, store } = await start({ commitMode: "on-return" });
    await host.deliver([{ actorType: "counter", actorId: "s1", partition: part("counter", "s1"), streamSeq: 1, msg: { type: "add", n: 5, seq: 1 } as never }]);
    await host.close();
    hosts.splice(hosts.indexOf(host), 1);
    const snap = store.snapshots.get("counter/s1")!;
    expect(snap.lastDeviceSeq).toBe(1);
    expect((JSON.parse(new TextDecoder().decode(snap.state)) as CounterState).total).toBe(5);
    const again = await WorkerPoolHost.create({ logics: [{ module: actorsModule, export: "counterActor" }], snapshots: store, workers: 2, partitions: P });
    hosts.push(again);
    const fx = await again.deliver([{ actorType: "counter", actorId: "s1", partition: part("counter", "s1"), streamSeq: 2, msg: { type: "add", n: 1, seq: 2 } as never }]);
    expect(rowObjects(fx.rows.get("counts"))).toEqual([{ id: "s1", seq: 2, total: 6 }]);
  });
});
