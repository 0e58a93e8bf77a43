/**
 * The runtime host contract used by the runtime role: undecoded journal batches (decoded where the
 * actors live), live configuration on every worker, and graceful partition release. Each case runs
 * on both hosts (worker threads and in-thread).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { BatchEffects, JournalBytes, RuntimeHost } from "../../../src/ports/actor-host.js";
import { rowObjects } from "../../../src/domain/row-batch.js";
import { createInlineHost } from "../../../src/runtime/inline-host.js";
import { partitionFor, workerFor } from "../../../src/runtime/partition.js";
import { MemoryJournal } from "../../../src/runtime/testing/memory-journal.js";
import { MemorySnapshotStore } from "../../../src/runtime/testing/memory-snapshot-store.js";
import { counterJournalDecoder, createCounterActor, type CounterState } from "../../../src/runtime/testing/test-actors.js";
import { WorkerPoolHost } from "../../../src/runtime/worker-pool-host.js";
import { waitFor } from "../../support/pipeline.js";

const P = 8;
const part = partitionFor(P);
const actorsModule = new URL("../../../src/runtime/testing/test-actors.ts", import.meta.url).href;
const enc = new TextEncoder();
const hosts: RuntimeHost[] = [];

type Kind = "workers" | "inline";

async function start(kind: Kind, store = new MemorySnapshotStore(), journal?: MemoryJournal, onEffects?: (fx: BatchEffects) => void): Promise<RuntimeHost> {
  const common = { snapshots: store, partitions: P, ...(journal ? { journal } : {}), ...(onEffects ? { onEffects } : {}) };
  const host: RuntimeHost =
    kind === "workers"
      ? await WorkerPoolHost.create({
          ...common,
          logics: [{ module: actorsModule, export: "counterActorWith", args: [{ step: 1 }] }],
          decoder: { module: actorsModule, export: "counterJournalDecoder" },
          workers: 2,
        })
      : createInlineHost({ ...common, logics: [createCounterActor()], decode: counterJournalDecoder });
  hosts.push(host);
  return host;
}

afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});

/** Journal bytes of one partition: `n` adds per device of `ids` in that partition. */
function journalOf(partition: number, ids: readonly string[], seqs: readonly number[], firstStreamSeq = 1): JournalBytes[] {
  const out: JournalBytes[] = [];
  let s = firstStreamSeq;
  for (const seq of seqs) for (const id of ids) if (part("counter", id) === partition) out.push({ data: enc.encode(JSON.stringify({ id, n: seq, seq })), streamSeq: s++ });
  return out;
}

const ids = Array.from({ length: 32 }, (_, i) => `d-${i}`);

describe.each<Kind>(["workers", "inline"])("%s host", (kind) => {
  it("applies undecoded journal batches in order and reports the corrupt messages without applying them", async () => {
    const host = await start(kind);
    for (let p = 0; p < P; p++) {
      const msgs = journalOf(p, ids, [1, 2, 3]);
      if (msgs.length === 0) continue;
      const bad = { data: enc.encode("{not json"), streamSeq: 10_000 + p };
      const fx = await host.deliverJournal!(p, [...msgs.slice(0, 1), bad, ...msgs.slice(1)]);
      expect(fx.corrupt).toHaveLength(1);
      expect(fx.corrupt[0]!.index).toBe(1);
      expect(fx.corrupt[0]!.reason).toMatch(/^stream seq \d+: /);
      const rows = rowObjects(fx.rows.get("counts")) as { id: string; seq: number; total: number }[];
      expect(rows).toHaveLength(msgs.length);
      for (const id of ids.filter((i) => part("counter", i) === p)) {
        expect(rows.filter((r) => r.id === id).map((r) => r.total)).toEqual([1, 3, 6]);
      }
    }
  });

  it("applies a live configuration on every worker, and the active actors receive it as a message", async () => {
    const store = new MemorySnapshotStore();
    const host = await start(kind, store);
    for (let p = 0; p < P; p++) if (journalOf(p, ids, [1]).length > 0) await host.deliverJournal!(p, journalOf(p, ids, [1]));
    await host.configure("counter", { step: 10 }, "v2");
    const view = await host.introspect();
    for (const w of view.workers) expect(w.configVersion).toBe("v2");
    // New settings reach every partition's actors (rows use step 10).
    for (let p = 0; p < P; p++) {
      const msgs = journalOf(p, ids, [2], 1000);
      if (msgs.length === 0) continue;
      const rows = rowObjects((await host.deliverJournal!(p, msgs)).rows.get("counts")) as { total: number }[];
      for (const r of rows) expect(r.total).toBe(1 + 20);
    }
    // An invalid change is rejected and changes nothing anywhere.
    await expect(host.configure("counter", { step: -1 }, "v3")).rejects.toThrow("counter step must be a positive integer, got -1");
    for (const w of (await host.introspect()).workers) expect(w.configVersion).toBe("v2");
    await expect(host.configure("nope", {}, "v4")).rejects.toThrow('no actor logic of type "nope" is hosted');
    // Each active actor got the `config` message (its state records the step), seen in its snapshot.
    const p = part("counter", ids[0]!);
    host.committed(p, 100_000);
    await host.releasePartition(p);
    for (const id of ids.filter((i) => part("counter", i) === p)) {
      expect((JSON.parse(new TextDecoder().decode(store.snapshots.get(`counter/${id}`)!.state)) as CounterState).config).toBe(10);
    }
  });

  it("releases a partition with its dirty actors snapshotted; a new host resumes from the snapshots", async () => {
    const store = new MemorySnapshotStore();
    const host = await start(kind, store);
    const p = part("counter", ids[0]!);
    const msgs = journalOf(p, ids, [1, 2]);
    await host.deliverJournal!(p, msgs);
    host.committed(p, msgs.at(-1)!.streamSeq);
    const timers = await host.releasePartition(p);
    // Each actor's heartbeat (armed for 1 s by every add) is handed over with the time it had left.
    const inP = ids.filter((i) => part("counter", i) === p);
    expect(timers.map((t) => t.actorId).sort()).toEqual([...inP].sort());
    for (const t of timers) {
      expect(t).toMatchObject({ actorType: "counter", name: "heartbeat", msg: { type: "timeout" } });
      expect(t.inMs).toBeGreaterThan(0);
      expect(t.inMs).toBeLessThanOrEqual(1000);
    }
    for (const id of inP) {
      const snap = store.snapshots.get(`counter/${id}`);
      expect(snap, id).toBeDefined();
      expect((JSON.parse(new TextDecoder().decode(snap!.state)) as CounterState).total).toBe(3);
    }
    const next = await start(kind, store);
    const rows = rowObjects((await next.deliverJournal!(p, journalOf(p, ids, [3], 500))).rows.get("counts")) as { total: number }[];
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.total).toBe(6);
  });

  it("reads a partition's pending timers without letting go of them (the periodic timer checkpoint)", async () => {
    const store = new MemorySnapshotStore();
    const offline = offlineWatch();
    const host = await start(kind, store, undefined, offline.onEffects);
    const p = part("counter", ids[0]!);
    const inP = ids.filter((i) => part("counter", i) === p);
    const msgs = journalOf(p, ids, [1]);
    await host.deliverJournal!(p, msgs);
    host.committed(p, msgs.at(-1)!.streamSeq);
    const timers = await host.pendingTimers(p);
    expect(timers.map((t) => t.actorId).sort()).toEqual([...inP].sort());
    for (const t of timers) expect(t.inMs).toBeLessThanOrEqual(1000);
    expect(await host.pendingTimers((p + 1) % P)).toEqual(expect.not.arrayContaining([expect.objectContaining({ actorId: inP[0] })]));
    // Still armed here: the actors time out on this host.
    await offline.all(inP);
    expect(await host.pendingTimers(p)).toEqual([]);
  });

  it("arms timers handed over by a partition's previous owner: its silent actors time out on the new one", async () => {
    const store = new MemorySnapshotStore();
    const host = await start(kind, store);
    const p = part("counter", ids[0]!);
    const inP = ids.filter((i) => part("counter", i) === p);
    const msgs = journalOf(p, ids, [1]);
    await host.deliverJournal!(p, msgs);
    host.committed(p, msgs.at(-1)!.streamSeq);
    const timers = await host.releasePartition(p);
    const offline = offlineWatch();
    const next = await start(kind, store, undefined, offline.onEffects);
    await next.restoreTimers(p, timers.map((t) => ({ ...t, inMs: 50 })));
    await offline.all(inP);
    expect([...offline.seen].sort()).toEqual([...inP].sort());
  });
});

describe("worker pool, live config and crashes", () => {
  it("re-arms the timers kept in the store on a replacement worker (the crashed worker's timers died with it)", async () => {
    const store = new MemorySnapshotStore();
    const offline = offlineWatch();
    const host = (await start("workers", store, undefined, offline.onEffects)) as WorkerPoolHost;
    const p = part("counter", ids[0]!);
    const inP = ids.filter((i) => part("counter", i) === p);
    // A minute-long timer per actor, kept in the store as the runtime role's timer checkpoint does,
    // dated so that only 300 ms of it are left now.
    await host.deliver(inP.map((id, k) => ({ actorType: "counter", actorId: id, partition: p, streamSeq: k + 1, msg: { type: "arm", ms: 60_000 } })));
    const kept = await host.pendingTimers(p);
    expect(kept.map((t) => t.actorId).sort()).toEqual([...inP].sort());
    await store.putTimers(p, kept, Date.now() - 59_700);
    await host.killWorker(workerFor(p, 2));
    await offline.all(inP);
    // Still kept (for a crash of the process), with no more than what was left when re-armed.
    const again = await store.readTimers(p, Date.now());
    expect(again.map((t) => t.actorId).sort()).toEqual([...inP].sort());
    for (const t of again) expect(t.inMs).toBeLessThanOrEqual(300);
  });

  it("a replacement worker starts with the latest configuration and replays its journal", async () => {
    const journal = new MemoryJournal();
    const host = (await start("workers", new MemorySnapshotStore(), journal)) as WorkerPoolHost;
    await host.configure("counter", { step: 5 }, "v7");
    const id = ids[0]!;
    const p = part("counter", id);
    const [e1] = journal.append(p, [{ actorType: "counter", actorId: id, msg: { type: "add", n: 1, seq: 1 } }]);
    const first = await host.deliverJournal!(p, [{ data: enc.encode(JSON.stringify({ id, n: 1, seq: 1 })), streamSeq: e1!.streamSeq }]);
    expect((rowObjects(first.rows.get("counts")) as { total: number }[])[0]!.total).toBe(5);
    host.committed(p, e1!.streamSeq);
    await host.killWorker(workerFor(p, 2));
    await expect(host.killWorker(2)).rejects.toThrow("worker 2 does not exist (this pool has workers 0..1)");
    const [e2] = journal.append(p, [{ actorType: "counter", actorId: id, msg: { type: "add", n: 2, seq: 2 } }]);
    const fx = await host.deliverJournal!(p, [{ data: enc.encode(JSON.stringify({ id, n: 2, seq: 2 })), streamSeq: e2!.streamSeq }]);
    // Rebuilt by replay with step 5 (5), then 2 × 5.
    expect((rowObjects(fx.rows.get("counts")) as { total: number }[])[0]!.total).toBe(15);
    const view = await host.introspect();
    expect(view.workerRestarts).toBe(1);
    for (const w of view.workers) expect(w.configVersion).toBe("v7");
  });
});

/** Offline events (subject "offline.<id>") among a host's background effects. */
function offlineWatch() {
  const seen = new Set<string>();
  return {
    seen,
    onEffects: (fx: BatchEffects) => {
      for (const e of fx.events) if (e.subject.startsWith("offline.")) seen.add(e.subject.slice("offline.".length));
    },
    /** Resolves once every one of `ids` went offline; fails after 10 s with the ones seen. */
    all: (ids: readonly string[]) => waitFor(async () => [...seen], (got) => ids.every((id) => got.includes(id)), 10_000, `offline events of ${ids.join(",")}`),
  };
}
