import type { BatchEffects, Envelope, RuntimeHost } from "../ports/actor-host.js";
import type { Clock } from "../ports/clock.js";
import type { JournalReader } from "../ports/journal-reader.js";
import type { MetricsRegistry } from "../ports/metrics.js";
import type { SnapshotStore } from "../ports/snapshot-store.js";
import type { AnyLogic } from "./actor-cell.js";
import { systemClock } from "../base/clock.js";
import type { JournalDecoder } from "./journal-batch.js";
import { resolveRuntimeOptions, type RuntimeOptions } from "./options.js";
import { partitionFor } from "./partition.js";
import { WorkerPoolHost } from "./worker-pool-host.js";

/** Dependencies and options of an in-thread host. */
export interface InlineHostOptions extends RuntimeOptions {
  /** Actor logics hosted, by `type`. */
  readonly logics: readonly AnyLogic[];
  readonly snapshots: SnapshotStore;
  /** Journal access for `recover`; without it recovery starts from snapshots only. */
  readonly journal?: JournalReader;
  /** Default: the system clock. Tests pass a simulated clock. */
  readonly clock?: Clock;
  readonly metrics?: MetricsRegistry;
  /** Partition of an actor; default fnv1a32(id) % partitions. */
  readonly partitionOf?: (actorType: string, actorId: string) => number;
  /**
   * Effects of turns that no delivered batch caused (timers: heartbeat/offline events). Commit
   * them like a batch's effects (nothing to ack). Without a handler they ride on the next result.
   */
  readonly onEffects?: (effects: BatchEffects) => void;
  /** Yield to the event loop; default setImmediate. */
  readonly defer?: (fn: () => void) => void;
  /**
   * "explicit" (default): snapshots are written once `committed` covers them. "on-return": a
   * batch counts as committed when `deliver` resolves (for callers that never call `committed`;
   * then a crash between deliver and ack may restore effects that never became durable).
   */
  readonly commitMode?: "explicit" | "on-return";
  /** Journal decoder; required by `deliverJournal`. */
  readonly decode?: JournalDecoder;
  /**
   * Encode rows of tables with a declared schema as RowBinary here, as worker threads do (the
   * runtime role sets it: the sink then inserts the bytes). Default false: rows stay objects.
   */
  readonly encodeRows?: boolean;
}

/** An in-thread RuntimeHost, plus test/admin helpers. */
export interface InlineHost extends RuntimeHost {
  /** Pre-decoded envelopes straight to the actors (tests and benchmarks of actor logic; production delivers journal bytes). */
  deliver(batch: readonly Envelope[]): Promise<BatchEffects>;
  /** State of an active actor, or undefined. */
  peek(actorType: string, actorId: string): unknown;
  /** Write committed snapshots and checkpoints now. */
  flushSnapshots(): Promise<void>;
  /** Run maintenance now (idle passivation, time-based snapshots). */
  tick(): void;
}

/**
 * Build an in-thread host: the worker-pool host with one shard on the calling thread (the same
 * shard server and request protocol a worker thread runs, over direct calls). Used alone (tests,
 * small sites; `runtime.host: inline`).
 */
export function createInlineHost(opts: InlineHostOptions): InlineHost {
  const o = resolveRuntimeOptions(opts);
  const { host, shard } = WorkerPoolHost.inThread(opts, {
    logics: opts.logics,
    ...(opts.decode ? { decode: opts.decode } : {}),
    clock: opts.clock ?? systemClock,
    defer: opts.defer ?? ((fn) => setImmediate(fn)),
    partitionOf: opts.partitionOf ?? partitionFor(o.partitions),
    encodeRows: opts.encodeRows === true,
  });
  return {
    deliver: (batch) => host.deliver(batch),
    deliverJournal: (partition, messages) => host.deliverJournal(partition, messages),
    committed: (partition, streamSeq) => host.committed(partition, streamSeq),
    recover: (partition, ackFloor) => host.recover(partition, ackFloor),
    resetPartition: (partition) => host.resetPartition(partition),
    releasePartition: (partition) => host.releasePartition(partition),
    restoreTimers: (partition, timers) => host.restoreTimers(partition, timers),
    pendingTimers: (partition) => host.pendingTimers(partition),
    // Mailbox credit of the one shard, read in place.
    credit: () => shard.core.credit(),
    resolveCall: (callId, result) => host.resolveCall(callId, result),
    broadcast: (msg, actorType) => host.broadcast(msg, actorType),
    configure: (actorType, settings, version) => host.configure(actorType, settings, version),
    setLimits: (limits) => host.setLimits(limits),
    introspect: () => host.introspect(),
    peek: (type, id) => shard.core.peek(type, id),
    flushSnapshots: async () => {
      shard.flushBackground();
      await host.flushSnapshots();
    },
    tick: () => shard.core.tick(),
    close: () => host.close(),
  };
}
