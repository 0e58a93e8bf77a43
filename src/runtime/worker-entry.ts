import { parentPort, workerData } from "node:worker_threads";
import type { ActorSnapshot } from "../ports/snapshot-store.js";
import type { AnyLogic } from "./actor-cell.js";
import { createSystemClock } from "./clocks.js";
import { rowEncodersFor, shardEffects, type EffectsAcc } from "./effects.js";
import { fromWireError, toWireError } from "./errors.js";
import { decodePackedJournal, type JournalDecoder } from "./journal-batch.js";
import { partitionFor, workerFor } from "./partition.js";
import { ShardCore } from "./shard-core.js";
import type { FromWorker, JournalResult, ToWorker, WorkerInit } from "./worker-protocol.js";

// Shard worker: one ShardCore; I/O stays in the main thread (snapshots are loaded through it and
// written by it; effects are returned). Protocol: see worker-protocol.ts.

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (m: FromWorker): void => port.postMessage(m);

async function main(): Promise<void> {
  const logics: AnyLogic[] = [];
  for (const spec of init.logics) {
    const mod = (await import(spec.module)) as Record<string, unknown>;
    const exported = mod[spec.export ?? "default"];
    const logic = (spec.args !== undefined && typeof exported === "function" ? (exported as (...a: unknown[]) => unknown)(...spec.args) : exported) as AnyLogic | undefined;
    if (logic === undefined || logic === null || typeof logic.receive !== "function") {
      throw new Error(`actor logic module ${spec.module} has no ActorLogic export "${spec.export ?? "default"}"`);
    }
    logics.push(logic);
  }
  // Rows of tables with a schema leave this thread as RowBinary (made on this worker's core).
  const encoders = rowEncodersFor(logics);
  let decode: JournalDecoder | undefined;
  if (init.decoder !== undefined) {
    const mod = (await import(init.decoder.module)) as Record<string, unknown>;
    const fn = mod[init.decoder.export];
    if (typeof fn !== "function") throw new Error(`journal decoder module ${init.decoder.module} has no function export "${init.decoder.export}"`);
    decode = fn as JournalDecoder;
  }
  const partitionOf = partitionFor(init.options.partitions);
  const loads = new Map<number, { resolve: (s: (ActorSnapshot | undefined)[]) => void; reject: (e: Error) => void }>();
  let nextLoad = 0;
  let bgQueued = false;

  const core = new ShardCore({
    ...init.options,
    logics,
    clock: createSystemClock(),
    load: (keys) =>
      new Promise((resolve, reject) => {
        const loadId = nextLoad++;
        loads.set(loadId, { resolve, reject });
        post({ t: "load", loadId, keys });
      }),
    partitionOf,
    isLocal: (type, id) => workerFor(partitionOf(type, id), init.workers) === init.index,
    defer: (fn) => setImmediate(fn),
    onBackground: () => {
      if (bgQueued) return;
      bgQueued = true;
      queueMicrotask(flushBg);
    },
    worker: init.index,
    callIdStride: init.workers,
    callIdOffset: init.index,
  });

  // A replacement worker starts with the configuration its predecessor had.
  for (const c of init.configs) core.configure(c.actorType, c.settings, c.version, () => {});

  function flushBg(): void {
    bgQueued = false;
    const { effects, snapshots } = core.takeBackground();
    if (effects === null && snapshots.length === 0) return;
    post({ t: "bg", bg: { effects: effects === null ? null : shardEffects(effects, encoders), snapshots, lowWater: snapshots.length > 0 ? core.lowWater() : [] } });
  }

  // Replies go after any background output they depend on (snapshots before "done"). Rows are
  // encoded here, on the worker's core: the main thread passes the bytes on to the sink.
  const done = (requestId: number, effects?: EffectsAcc): void => {
    flushBg();
    post({ t: "done", requestId, effects: effects === undefined ? undefined : shardEffects(effects, encoders) });
  };

  port.on("message", (m: ToWorker) => {
    try {
      switch (m.t) {
        case "deliver":
          core.submit(m.cols, m.replay, (acc) => done(m.requestId, acc));
          return;
        case "journal": {
          if (decode === undefined) throw new Error("this worker pool was started without a journal decoder");
          // Each partition's batch runs as its own submit (its own effects); one reply for all.
          const results: JournalResult[] = new Array(m.packed.length);
          let left = m.packed.length;
          m.packed.forEach((packed, i) => {
            const { cols, corrupt } = decodePackedJournal(packed, decode!);
            core.submit(cols, false, (acc) => {
              results[i] = { effects: shardEffects(acc, encoders), corrupt };
              if (--left > 0) return;
              flushBg();
              post({ t: "done", requestId: m.requestId, results });
            });
          });
          return;
        }
        case "configure":
          core.configure(m.config.actorType, m.config.settings, m.config.version, (acc) => done(m.requestId, acc));
          return;
        case "release":
          // Hand-off: snapshot every dirty actor (its messages are committed), then forget the partition.
          core.snapshotAll();
          flushBg();
          post({ t: "done", requestId: m.requestId, timers: core.releasePartition(m.partition, m.high) });
          return;
        case "timers":
          core.restoreTimers(m.partition, m.timers);
          done(m.requestId);
          return;
        case "pending-timers":
          post({ t: "done", requestId: m.requestId, timers: core.pendingTimers(m.partition) });
          return;
        case "broadcast":
          core.broadcast(m.msg, m.actorType, (acc) => done(m.requestId, acc));
          return;
        case "call":
          core.resolveCall(m.callId, m.ok ? { ok: true, value: m.value } : { ok: false, error: fromWireError(m.error!) }, (acc) => done(m.requestId, acc));
          return;
        case "limits":
          core.setLimits(m.limits);
          done(m.requestId);
          return;
        case "drop":
          flushBg();
          core.dropPartition(m.partition, m.high);
          done(m.requestId);
          return;
        case "stats":
          post({ t: "done", requestId: m.requestId, stats: core.stats() });
          return;
        case "close":
          core.snapshotAll();
          core.close();
          done(m.requestId);
          return;
        case "loaded": {
          const l = loads.get(m.loadId);
          loads.delete(m.loadId);
          if (m.error !== undefined) l?.reject(fromWireError(m.error));
          else l?.resolve(m.snaps!);
          return;
        }
      }
    } catch (err) {
      if ("requestId" in m) post({ t: "failed", requestId: m.requestId, error: toWireError(err) });
    }
  });
  post({ t: "ready" });
}

main().catch((err: unknown) => {
  post({ t: "fatal", error: toWireError(err) });
  process.exit(1);
});
