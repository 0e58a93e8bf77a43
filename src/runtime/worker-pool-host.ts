import { availableParallelism } from "node:os";
import type { BatchEffects, CallResult, Envelope, HostIntrospection, HostLimits, JournalEffects, JournalBytes, PartitionTimer, RuntimeHost } from "../ports/actor-host.js";
import type { Clock, TimerHandle } from "../ports/clock.js";
import { systemClock } from "../base/clock.js";
import { emptyEffects, mergeEffects, toColumns, type Columns, type ShardEffects } from "./effects.js";
import { HostClosedError, RecoveryError, RuntimeOptionsError, checkInt, toWireError } from "./errors.js";
import { resolveRuntimeOptions, type ResolvedRuntimeOptions } from "./options.js";
import { partitionFor, workerFor } from "./partition.js";
import { createRuntimeMetrics, type RuntimeMetrics } from "./runtime-metrics.js";
import { SnapshotWriter } from "./snapshot-writer.js";
import type { Background, JournalResult, LogicConfig, ToWorker } from "./worker-protocol.js";
import { DEFAULT_YOUNG_GENERATION_MB, type WorkerPoolHostOptions } from "./worker-pool-options.js";
import { DeliveryGate } from "./delivery-gate.js";
import { packJournal } from "./journal-batch.js";
import { JournalBatches } from "./worker-journal.js";
import { mergeReplies, routeSends, splitByWorker } from "./worker-batches.js";
import { WorkerRecovery } from "./worker-recovery.js";
import { WorkerChannel, newSlot, type InThreadShard, type Slot } from "./worker-slot.js";
import type { ShardServer } from "./shard-server.js";

export { DEFAULT_YOUNG_GENERATION_MB, type WorkerPoolHostOptions } from "./worker-pool-options.js";

/**
 * RuntimeHost on N worker threads. Partition p lives on worker p % N (pinned); a delivered batch
 * crosses to each worker it touches as one postMessage of columns; a cooperative ShardCore runs
 * the turns there. Snapshot I/O and all effects stay in the main thread. A worker that dies is
 * replaced: its partitions are rebuilt (snapshots + state-only journal replay up to the last
 * batch it returned) and the batches it held run again on the new worker.
 *
 * Worker start and the request protocol live in worker-slot.ts, crash recovery in
 * worker-recovery.ts, batch splitting and cross-worker send routing in worker-batches.ts.
 */
export class WorkerPoolHost implements RuntimeHost {
  private readonly slots: Slot[] = [];
  private readonly writer: SnapshotWriter;
  private readonly clock: Clock;
  private readonly metrics: RuntimeMetrics;
  private readonly partitionOf: (type: string, id: string) => number;
  private readonly channel: WorkerChannel;
  private readonly recovery: WorkerRecovery;
  private closed = false;
  private closing = false;
  private carried: BatchEffects | null = null;
  private flushTimer: TimerHandle | null = null;
  private readonly gate = new DeliveryGate();
  private readonly configs = new Map<string, LogicConfig>();
  /** Journal batches of one event-loop turn, one message per worker (worker-journal.ts). */
  private readonly journalBatches: JournalBatches;
  /** Delivers one round of cross-worker sends (see routeSends). */
  private readonly deliverSends = (envs: readonly Envelope[]): Promise<ShardEffects[]> =>
    Promise.all(splitByWorker(envs, this.slots, this.n).map(([slot, cols]) => this.deliverTo(slot, cols, false)));

  private constructor(
    private readonly opts: WorkerPoolHostOptions,
    private readonly o: ResolvedRuntimeOptions,
    private readonly n: number,
    private readonly inThread?: InThreadShard,
  ) {
    this.writer = new SnapshotWriter(opts.snapshots);
    this.clock = opts.clock ?? systemClock;
    this.metrics = createRuntimeMetrics(opts.metrics);
    this.partitionOf = inThread?.partitionOf ?? partitionFor(o.partitions);
    this.channel = new WorkerChannel({
      tsLoader: opts.tsLoader,
      execArgv: opts.execArgv,
      youngGenerationMb: opts.youngGenerationMb ?? DEFAULT_YOUNG_GENERATION_MB,
      init: (slot) => ({ index: slot.index, workers: this.n, logics: this.opts.logics, options: this.o, configs: [...this.configs.values()], ...(this.opts.decoder ? { decoder: this.opts.decoder } : {}) }),
      onBackground: (bg) => this.onBackground(bg),
      load: (keys) => this.writer.load(keys),
      onExit: (slot) => {
        if (!this.closed) this.recovery.onCrash(slot);
      },
      ...(inThread ? { inThread } : {}),
    });
    this.journalBatches = new JournalBatches(this.channel);
    this.recovery = new WorkerRecovery({ channel: this.channel, writer: this.writer, journal: opts.journal, options: o, isClosed: () => this.closed, timers: opts.snapshots, now: () => this.clock.now() });
  }

  /** Start the workers and wait until each has loaded its actor logics. */
  static async create(opts: WorkerPoolHostOptions): Promise<WorkerPoolHost> {
    const o = resolveRuntimeOptions(opts);
    const n = checkInt("runtime.workers", opts.workers ?? availableParallelism(), 1);
    if (opts.youngGenerationMb !== undefined) checkInt("runtime.youngGenerationMb", opts.youngGenerationMb, 0);
    if (opts.logics.length === 0) throw new RuntimeOptionsError("logics must name at least one actor logic module");
    const host = new WorkerPoolHost(opts, o, n);
    for (let i = 0; i < n; i++) host.slots.push(newSlot(i));
    try {
      await Promise.all(host.slots.map((s) => host.channel.spawn(s)));
    } catch (err) {
      await host.terminateAll();
      throw err;
    }
    return host;
  }

  /**
   * The same host with one shard on the calling thread instead of worker threads (see
   * createInlineHost): built synchronously, no thread crossing, rows left as objects unless
   * `shard.encodeRows`.
   */
  static inThread(opts: Omit<WorkerPoolHostOptions, "logics" | "decoder" | "workers" | "tsLoader" | "execArgv" | "youngGenerationMb">, shard: InThreadShard): { host: WorkerPoolHost; shard: ShardServer } {
    const o = resolveRuntimeOptions(opts);
    const host = new WorkerPoolHost({ ...opts, logics: [] }, o, 1, shard);
    const slot = newSlot(0);
    host.slots.push(slot);
    void host.channel.spawn(slot);
    return { host, shard: slot.local! };
  }

  /** Worker count. */
  get workers(): number {
    return this.n;
  }

  // ---- RuntimeHost -------------------------------------------------------------------------------

  async deliver(batch: readonly Envelope[]): Promise<BatchEffects> {
    if (this.closed || this.closing) throw new HostClosedError();
    if (!this.gate.open) await this.gate.wait();
    this.gate.enter();
    try {
      let out: ShardEffects;
      if (this.inThread !== undefined) {
        // One shard on this thread: no crash to recover from, so no per-message bookkeeping.
        out = (await this.channel.request(this.slots[0]!, { t: "deliver", requestId: 0, cols: toColumns(batch), replay: false })).effects!;
      } else {
        const parts = splitByWorker(batch, this.slots, this.n);
        const results = await Promise.all(parts.map(([slot, cols]) => this.deliverTo(slot, cols, false)));
        out = results.length === 1 ? results[0]! : mergeReplies(results);
      }
      await this.routeSends(out);
      if (this.opts.commitMode === "on-return") for (const e of batch) this.writer.committed(e.partition, e.streamSeq);
      return this.withCarried(out);
    } finally {
      this.gate.leave();
    }
  }

  async deliverJournal(partition: number, messages: readonly JournalBytes[]): Promise<JournalEffects> {
    if (this.closed || this.closing) throw new HostClosedError();
    if (this.opts.decoder === undefined && this.inThread?.decode === undefined) throw new RuntimeOptionsError("deliverJournal needs the decoder option");
    if (!this.gate.open) await this.gate.wait();
    this.gate.enter();
    try {
      const slot = this.slots[workerFor(partition, this.n)]!;
      slot.partitions.add(partition);
      const n = messages.length;
      slot.inFlight += n;
      let r: JournalResult;
      try {
        const packed = packJournal(partition, messages);
        // In-thread there is no postMessage to save: straight to the shard.
        r = this.inThread !== undefined ? (await this.channel.request(slot, { t: "journal", requestId: 0, packed: [packed] })).results![0]! : await this.journalBatches.run(slot, packed);
      } finally {
        slot.inFlight -= n;
      }
      const last = messages[n - 1]?.streamSeq ?? 0;
      if (last > (slot.returnedHigh.get(partition) ?? 0)) slot.returnedHigh.set(partition, last);
      const out = r.effects;
      await this.routeSends(out);
      if (this.opts.commitMode === "on-return") this.writer.committed(partition, last);
      return Object.assign(this.withCarried(out), { corrupt: r.corrupt });
    } finally {
      this.gate.leave();
    }
  }

  committed(partition: number, streamSeq: number): void {
    this.writer.committed(partition, streamSeq);
    if (this.writer.pendingCount > 0) this.scheduleFlush();
  }

  async recover(partition: number, ackFloor: number): Promise<void> {
    const slot = this.slots[workerFor(partition, this.n)]!;
    try {
      const cp = (await this.opts.snapshots.getCheckpoint(partition)) ?? 1;
      this.writer.seedCheckpoint(partition, cp);
      this.writer.committed(partition, ackFloor);
      slot.partitions.add(partition);
      if (ackFloor > (slot.returnedHigh.get(partition) ?? 0)) slot.returnedHigh.set(partition, ackFloor);
      await this.replay(slot, partition, cp, ackFloor);
    } catch (err) {
      throw new RecoveryError(partition, { cause: err });
    }
  }

  resetPartition(partition: number): Promise<void> {
    return this.gate.exclusive(async () => {
      const slot = this.slots[workerFor(partition, this.n)]!;
      const high = this.writer.committedThrough(partition);
      await this.channel.request(slot, { t: "drop", requestId: 0, partition, high });
      slot.returnedHigh.set(partition, high);
      const from = this.writer.dropUncommitted(partition);
      try {
        await this.replay(slot, partition, from, high);
      } catch (err) {
        throw new RecoveryError(partition, { cause: err });
      }
    });
  }

  /**
   * Hand a partition off: with deliveries held back, the worker snapshots its dirty actors and
   * drops the partition's; the committed snapshots and checkpoint are written; then the partition
   * is forgotten here (the next owner recovers it from the store).
   */
  releasePartition(partition: number): Promise<readonly PartitionTimer[]> {
    return this.gate.exclusive(async () => {
      const slot = this.slots[workerFor(partition, this.n)]!;
      const high = this.writer.committedThrough(partition);
      const reply = await this.channel.request(slot, { t: "release", requestId: 0, partition, high });
      this.writer.dropUncommitted(partition);
      await this.writer.flush();
      this.writer.forget(partition);
      slot.partitions.delete(partition);
      slot.returnedHigh.delete(partition);
      return reply.timers ?? [];
    });
  }

  /** Timers handed over by the partition's previous owner, armed on its worker. */
  async restoreTimers(partition: number, timers: readonly PartitionTimer[]): Promise<void> {
    if (timers.length === 0) return;
    await this.channel.request(this.slots[workerFor(partition, this.n)]!, { t: "timers", requestId: 0, partition, timers });
  }

  /** The partition's pending timers, read on its worker. */
  async pendingTimers(partition: number): Promise<readonly PartitionTimer[]> {
    if (this.closed) throw new HostClosedError();
    const reply = await this.channel.request(this.slots[workerFor(partition, this.n)]!, { t: "pending-timers", requestId: 0, partition });
    return reply.timers ?? [];
  }

  credit(partition: number): number {
    const slot = this.slots[workerFor(partition, this.n)]!;
    return Math.max(0, this.o.queueCapacity - slot.inFlight);
  }

  async resolveCall(callId: number, result: CallResult): Promise<BatchEffects> {
    if (this.closed) throw new HostClosedError();
    const slot = this.slots[callId % this.n]!;
    const msg: ToWorker = result.ok
      ? { t: "call", requestId: 0, callId, ok: true, value: result.value }
      : { t: "call", requestId: 0, callId, ok: false, error: toWireError(result.error) };
    const r = await this.channel.request(slot, msg);
    const out = r.effects ?? emptyEffects();
    await this.routeSends(out);
    return this.withCarried(out);
  }

  async broadcast(msg: { readonly type: string }, actorType?: string): Promise<BatchEffects> {
    if (this.closed) throw new HostClosedError();
    const results = await Promise.all(this.slots.map((s) => this.channel.request(s, { t: "broadcast", requestId: 0, msg, actorType }).then((r) => r.effects ?? emptyEffects())));
    const out = mergeReplies(results);
    await this.routeSends(out);
    return this.withCarried(out);
  }

  async configure(actorType: string, settings: unknown, version: string): Promise<BatchEffects> {
    if (this.closed) throw new HostClosedError();
    const config: LogicConfig = { actorType, settings, version };
    // Validate on one worker first, so an invalid change reaches none (the logic throws unchanged).
    const [first, ...rest] = this.slots;
    const results = [(await this.channel.request(first!, { t: "configure", requestId: 0, config })).effects ?? emptyEffects()];
    this.configs.set(actorType, config);
    for (const r of await Promise.all(rest.map((s) => this.channel.request(s, { t: "configure", requestId: 0, config })))) results.push(r.effects ?? emptyEffects());
    const out = mergeReplies(results);
    await this.routeSends(out);
    return this.withCarried(out);
  }

  async setLimits(limits: HostLimits): Promise<void> {
    await Promise.all(this.slots.map((s) => this.channel.request(s, { t: "limits", requestId: 0, limits })));
  }

  async introspect(): Promise<HostIntrospection> {
    const workers = await Promise.all(this.slots.map((s) => this.channel.request(s, { t: "stats", requestId: 0 }).then((r) => r.stats!)));
    const view = { workers, workerRestarts: this.recovery.restarts, pendingSnapshots: this.writer.pendingCount };
    this.metrics.update(view);
    return view;
  }

  /** Write committed snapshots and checkpoints now. */
  flushSnapshots(): Promise<void> {
    return this.writer.flush();
  }

  /**
   * Terminate worker `index` as if it crashed (operators and chaos tests): the pool replaces it and
   * rebuilds its partitions; batches it held run again. RangeError for an index out of range.
   */
  async killWorker(index: number): Promise<void> {
    if (!Number.isInteger(index) || index < 0 || index >= this.n) throw new RangeError(`worker ${index} does not exist (this pool has workers 0..${this.n - 1})`);
    await this.slots[index]!.worker?.terminate();
  }

  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    while (this.gate.running > 0) await this.gate.whenIdle();
    await Promise.all(this.slots.map((s) => this.channel.request(s, { t: "close", requestId: 0 }).catch(() => undefined)));
    this.closed = true;
    if (this.flushTimer !== null) this.clock.clearTimeout(this.flushTimer);
    await this.writer.flush();
    await this.terminateAll();
  }

  // ---- batches -----------------------------------------------------------------------------------

  private async deliverTo(slot: Slot, cols: Columns, replay: boolean): Promise<ShardEffects> {
    const n = cols.ids.length;
    slot.inFlight += n;
    try {
      const r = await this.channel.request(slot, { t: "deliver", requestId: 0, cols, replay });
      if (!replay) {
        for (let i = 0; i < n; i++) {
          const p = cols.parts[i]!;
          const s = cols.seqs[i]!;
          if (s > (slot.returnedHigh.get(p) ?? 0)) slot.returnedHigh.set(p, s);
        }
      }
      return r.effects!;
    } finally {
      slot.inFlight -= n;
    }
  }

  /** Cross-worker sends: route to the hosting workers, a bounded number of rounds. */
  private routeSends(out: BatchEffects): Promise<void> {
    return routeSends(out, this.opts.maxSendRounds ?? 8, this.partitionOf, this.deliverSends);
  }

  private async replay(slot: Slot, partition: number, from: number, to: number): Promise<void> {
    if (this.opts.journal === undefined || from > to) return;
    for await (const envs of this.opts.journal.read(partition, from, to)) {
      if (envs.length > 0) await this.deliverTo(slot, toColumns(envs), true);
    }
  }

  private withCarried(out: BatchEffects): BatchEffects {
    if (this.carried === null) return out;
    const c = this.carried;
    this.carried = null;
    mergeEffects(c, out);
    return c;
  }

  // ---- worker output ------------------------------------------------------------------------------

  private onBackground(bg: Background): void {
    if (bg.snapshots.length > 0) {
      this.writer.add(bg.snapshots);
      this.writer.reportLowWater(bg.lowWater);
      this.scheduleFlush();
    }
    if (bg.effects === null) return;
    if (this.opts.onEffects !== undefined) this.opts.onEffects(bg.effects);
    else if (this.carried === null) this.carried = bg.effects;
    else mergeEffects(this.carried, bg.effects);
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== null || this.closed) return;
    this.flushTimer = this.clock.setTimeout(() => {
      this.flushTimer = null;
      void this.writer.flush().then(() => {
        if (this.writer.pendingCount > 0) this.scheduleFlush();
      });
    }, this.o.snapshotFlushMs);
  }

  private async terminateAll(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
  }
}
