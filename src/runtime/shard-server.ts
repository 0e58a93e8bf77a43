import type { Clock } from "../ports/clock.js";
import type { ActorSnapshot } from "../ports/snapshot-store.js";
import type { AnyLogic } from "./actor-cell.js";
import { rowEncodersFor, shardEffects, type EffectsAcc } from "./effects.js";
import { fromWireError, toWireError } from "./errors.js";
import { decodePackedJournal, type JournalDecoder } from "./journal-batch.js";
import type { ResolvedRuntimeOptions } from "./options.js";
import { ShardCore } from "./shard-core.js";
import type { FromWorker, JournalResult, LogicConfig, ToWorker } from "./worker-protocol.js";

/** What a shard server runs with. */
export interface ShardServerOptions {
  /** This shard's index and the shard count (call ids are unique across shards). */
  readonly index: number;
  readonly workers: number;
  readonly options: ResolvedRuntimeOptions;
  readonly logics: readonly AnyLogic[];
  /** Journal decoder (`journal` commands). */
  readonly decode?: JournalDecoder;
  /** Configuration changes applied before this shard started, latest per actor type. */
  readonly configs: readonly LogicConfig[];
  readonly clock: Clock;
  /** Yield to the event loop between slices of turns. */
  readonly defer: (fn: () => void) => void;
  readonly partitionOf: (actorType: string, actorId: string) => number;
  /** Whether an actor lives on this shard (sends to others go back to the host for routing). */
  readonly isLocal: (actorType: string, actorId: string) => boolean;
  /** Encode rows of tables with a schema as RowBinary here (worker threads: yes). */
  readonly encodeRows: boolean;
}

/** One shard: a ShardCore answering the host's commands (worker-protocol.ts). */
export interface ShardServer {
  readonly core: ShardCore;
  /** Take one command. Replies (and background output) go to `post`. Never throws. */
  handle(m: ToWorker): void;
  /** Post the background output (timer effects, snapshots) gathered so far now. */
  flushBackground(): void;
}

/**
 * The shard side of the host protocol: what a worker thread runs (worker-entry.ts), and what the
 * in-thread host runs on the caller's thread over a direct channel. I/O stays with the host:
 * snapshots are loaded through it (`load`), effects and snapshots are posted back.
 */
export function createShardServer(o: ShardServerOptions, post: (m: FromWorker) => void): ShardServer {
  const encoders = o.encodeRows ? rowEncodersFor(o.logics) : null;
  const loads = new Map<number, { resolve: (s: (ActorSnapshot | undefined)[]) => void; reject: (e: Error) => void }>();
  let nextLoad = 0;
  let bgQueued = false;

  const core = new ShardCore({
    ...o.options,
    logics: o.logics,
    clock: o.clock,
    load: (keys) =>
      new Promise((resolve, reject) => {
        const loadId = nextLoad++;
        loads.set(loadId, { resolve, reject });
        post({ t: "load", loadId, keys });
      }),
    partitionOf: o.partitionOf,
    isLocal: o.isLocal,
    defer: o.defer,
    onBackground: () => {
      if (bgQueued) return;
      bgQueued = true;
      queueMicrotask(flushBg);
    },
    worker: o.index,
    callIdStride: o.workers,
    callIdOffset: o.index,
  });

  // A replacement shard starts with the configuration its predecessor had.
  for (const c of o.configs) core.configure(c.actorType, c.settings, c.version, () => {});

  function flushBg(): void {
    bgQueued = false;
    const { effects, snapshots } = core.takeBackground();
    if (effects === null && snapshots.length === 0) return;
    post({ t: "bg", bg: { effects: effects === null ? null : shardEffects(effects, encoders), snapshots, lowWater: snapshots.length > 0 ? core.lowWater() : [] } });
  }

  // Replies go after any background output they depend on (snapshots before "done").
  const done = (requestId: number, effects?: EffectsAcc): void => {
    flushBg();
    post({ t: "done", requestId, effects: effects === undefined ? undefined : shardEffects(effects, encoders) });
  };

  function handle(m: ToWorker): void {
    try {
      switch (m.t) {
        case "deliver":
          core.submit(m.cols, m.replay, (acc) => done(m.requestId, acc));
          return;
        case "journal": {
          const decode = o.decode;
          if (decode === undefined) throw new Error("this shard was started without a journal decoder");
          // Each partition's batch runs as its own submit (its own effects); one reply for all.
          const results: JournalResult[] = new Array(m.packed.length);
          let left = m.packed.length;
          m.packed.forEach((packed, i) => {
            const { cols, corrupt } = decodePackedJournal(packed, decode);
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
  }

  return { core, handle, flushBackground: flushBg };
}
