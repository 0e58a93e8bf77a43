import type { BatchEffects, CallResult, Envelope, HostIntrospection, HostLimits, JournalEffects, JournalBytes, RuntimeHost } from "../ports/actor-host.js";
import type { Clock, TimerHandle } from "../ports/clock.js";
import type { JournalReader } from "../ports/journal-reader.js";
import type { MetricsRegistry } from "../ports/metrics.js";
import type { SnapshotStore } from "../ports/snapshot-store.js";
import type { AnyLogic } from "./actor-cell.js";
import { createSystemClock } from "./clocks.js";
import { type EffectsAcc, mergeEffects, rowEncodersFor, shardEffects, toColumns, type Columns } from "./effects.js";
import { HostClosedError, RecoveryError, RuntimeOptionsError } from "./errors.js";
import { resolveRuntimeOptions, type RuntimeOptions } from "./options.js";
import { partitionFor } from "./partition.js";
import { createRuntimeMetrics } from "./runtime-metrics.js";
import { ShardCore } from "./shard-core.js";
import { decodeJournal, type JournalDecoder } from "./journal-batch.js";
import { SnapshotWriter } from "./snapshot-writer.js";

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
  /** Partition of an actor; default fnv1a(id) % partitions. */
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
 * Build an in-thread host: one ShardCore on the calling thread. Used alone (tests, small sites)
 * and as the engine inside each worker of WorkerPoolHost.
 */
export function createInlineHost(opts: InlineHostOptions): InlineHost {
  const o = resolveRuntimeOptions(opts);
  const clock = opts.clock ?? createSystemClock();
  const partitionOf = opts.partitionOf ?? partitionFor(o.partitions);
  const writer = new SnapshotWriter(opts.snapshots);
  const metrics = createRuntimeMetrics(opts.metrics);
  let carried: BatchEffects | null = null;
  let closed = false;
  let inflight = 0;
  let idle: (() => void) | null = null;
  let flushTimer: TimerHandle | null = null;
  let bgQueued = false;
  let gate: Promise<void> | null = null;
  const onReturn = opts.commitMode === "on-return";
  const encoders = opts.encodeRows === true ? rowEncodersFor(opts.logics) : null;

  const core: ShardCore = new ShardCore({
    ...o,
    logics: opts.logics,
    clock,
    load: (keys) => writer.load(keys),
    partitionOf,
    defer: opts.defer ?? ((fn) => setImmediate(fn)),
    onBackground: () => {
      if (bgQueued) return;
      bgQueued = true;
      queueMicrotask(drainBackground);
    },
    worker: 0,
    maxActiveActors: o.maxActiveActors,
    callIdStride: 1,
    callIdOffset: 0,
  });

  function drainBackground(): void {
    bgQueued = false;
    const { effects, snapshots } = core.takeBackground();
    if (snapshots.length > 0) {
      writer.add(snapshots);
      writer.reportLowWater(core.lowWater());
      scheduleFlush();
    }
    if (effects === null) return;
    const fx = shardEffects(effects, encoders);
    if (opts.onEffects !== undefined) opts.onEffects(fx);
    else if (carried === null) carried = fx;
    else mergeEffects(carried, fx);
  }

  function scheduleFlush(): void {
    if (flushTimer !== null || closed) return;
    flushTimer = clock.setTimeout(() => {
      flushTimer = null;
      void writer.flush().then(() => {
        if (writer.pendingCount > 0) scheduleFlush();
      });
    }, o.snapshotFlushMs);
  }

  function run(cols: Columns, replay: boolean): Promise<BatchEffects> {
    if (closed) return Promise.reject(new HostClosedError());
    if (gate !== null && !replay) return gate.then(() => run(cols, replay));
    inflight++;
    return new Promise<BatchEffects>((resolve) => {
      core.submit(cols, replay, (acc) => {
        if (onReturn && !replay) for (let i = 0; i < cols.ids.length; i++) writer.committed(cols.parts[i]!, cols.seqs[i]!);
        resolve(finish(acc));
      });
    });
  }

  async function replay(partition: number, from: number, to: number): Promise<void> {
    if (opts.journal === undefined || from > to) return;
    for await (const envs of opts.journal.read(partition, from, to)) await run(toColumns(envs), true);
  }

  /** Run `fn` with new deliveries held back and every in-flight batch finished. */
  async function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (gate !== null) await gate;
    let open!: () => void;
    gate = new Promise<void>((r) => (open = r));
    try {
      if (inflight > 0) await new Promise<void>((r) => (idle = r));
      idle = null;
      return await fn();
    } finally {
      gate = null;
      open();
    }
  }

  // Rows stay objects unless `encodeRows`: nothing crosses a thread.
  function finish(acc: EffectsAcc): BatchEffects {
    if (--inflight === 0 && idle !== null) idle();
    drainBackground();
    const fx = shardEffects(acc, encoders);
    if (carried !== null) {
      const out = carried;
      carried = null;
      mergeEffects(out, fx);
      return out;
    }
    return fx;
  }

  return {
    deliver: (batch: readonly Envelope[]) => run(toColumns(batch), false),
    async deliverJournal(partition: number, messages: readonly JournalBytes[]): Promise<JournalEffects> {
      if (opts.decode === undefined) throw new RuntimeOptionsError("deliverJournal needs the decode option");
      const { cols, corrupt } = decodeJournal(partition, messages, opts.decode);
      return Object.assign(await run(cols, false), { corrupt });
    },
    committed(partition, streamSeq) {
      writer.committed(partition, streamSeq);
      if (writer.pendingCount > 0) scheduleFlush();
    },
    async recover(partition, ackFloor) {
      try {
        const cp = (await opts.snapshots.getCheckpoint(partition)) ?? 1;
        writer.seedCheckpoint(partition, cp);
        writer.committed(partition, ackFloor);
        await replay(partition, cp, ackFloor);
      } catch (err) {
        throw new RecoveryError(partition, { cause: err });
      }
    },
    resetPartition(partition) {
      return exclusive(async () => {
        drainBackground();
        const from = writer.dropUncommitted(partition);
        const to = writer.committedThrough(partition);
        core.dropPartition(partition, to);
        try {
          await replay(partition, from, to);
        } catch (err) {
          throw new RecoveryError(partition, { cause: err });
        }
      });
    },
    releasePartition(partition) {
      return exclusive(async () => {
        // Snapshot every dirty actor first (the caller has committed the partition's batches), so
        // the next owner restores the current state instead of replaying from an old checkpoint.
        core.snapshotAll();
        drainBackground();
        writer.dropUncommitted(partition);
        await writer.flush();
        const timers = core.releasePartition(partition, writer.committedThrough(partition));
        writer.forget(partition);
        return timers;
      });
    },
    restoreTimers(partition, timers) {
      return exclusive(async () => core.restoreTimers(partition, timers));
    },
    pendingTimers: async (partition) => core.pendingTimers(partition),
    credit: () => core.credit(),
    resolveCall(callId: number, result: CallResult) {
      if (closed) return Promise.reject(new HostClosedError());
      inflight++;
      return new Promise<BatchEffects>((resolve) => core.resolveCall(callId, result, (acc) => resolve(finish(acc))));
    },
    broadcast(msg, actorType) {
      if (closed) return Promise.reject(new HostClosedError());
      inflight++;
      return new Promise<BatchEffects>((resolve) => core.broadcast(msg, actorType, (acc) => resolve(finish(acc))));
    },
    configure(actorType: string, settings: unknown, version: string) {
      if (closed) return Promise.reject(new HostClosedError());
      inflight++;
      return new Promise<BatchEffects>((resolve, reject) => {
        try {
          core.configure(actorType, settings, version, (acc) => resolve(finish(acc)));
        } catch (err) {
          if (--inflight === 0 && idle !== null) idle();
          reject(err as Error);
        }
      });
    },
    async setLimits(limits: HostLimits) {
      core.setLimits(limits);
    },
    async introspect(): Promise<HostIntrospection> {
      const view = { workers: [core.stats()], workerRestarts: 0, pendingSnapshots: writer.pendingCount };
      metrics.update(view);
      return view;
    },
    peek: (type, id) => core.peek(type, id),
    flushSnapshots: async () => {
      drainBackground();
      await writer.flush();
    },
    tick: () => core.tick(),
    async close() {
      if (closed) return;
      closed = true;
      if (inflight > 0) await new Promise<void>((r) => (idle = r));
      core.snapshotAll();
      drainBackground();
      core.close();
      if (flushTimer !== null) clock.clearTimeout(flushTimer);
      flushTimer = null;
      await writer.flush();
    },
  };
}

