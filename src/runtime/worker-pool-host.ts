import { availableParallelism } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import type { BatchEffects, CallResult, Envelope, HostIntrospection, HostLimits, RuntimeHost, WorkerStats } from "../ports/actor-host.js";
import type { Clock, TimerHandle } from "../ports/clock.js";
import type { JournalReader } from "../ports/journal-reader.js";
import type { MetricsRegistry } from "../ports/metrics.js";
import type { SnapshotStore } from "../ports/snapshot-store.js";
import { createSystemClock } from "./clocks.js";
import { emptyEffects, mergeEffects, toColumns, type Columns, type EffectsAcc, type OutSend } from "./effects.js";
import { HostClosedError, RecoveryError, RuntimeOptionsError, WorkerCrashedError, checkInt, fromWireError, toWireError } from "./errors.js";
import { resolveRuntimeOptions, type ResolvedRuntimeOptions, type RuntimeOptions } from "./options.js";
import { partitionFor, workerFor } from "./partition.js";
import { createRuntimeMetrics, type RuntimeMetrics } from "./runtime-metrics.js";
import { SnapshotWriter } from "./snapshot-writer.js";
import type { Background, FromWorker, LogicSpec, ToWorker, WorkerInit } from "./worker-protocol.js";

/** Dependencies and options of a worker-pool host. */
export interface WorkerPoolHostOptions extends RuntimeOptions {
  /** Actor logic modules, loaded in every worker by specifier. */
  readonly logics: readonly LogicSpec[];
  readonly snapshots: SnapshotStore;
  /** Journal access for recovery (worker crash, resetPartition, recover). */
  readonly journal?: JournalReader;
  /** Worker threads. Default: os.availableParallelism(). */
  readonly workers?: number;
  /** Main-thread clock (snapshot flush cadence). Workers use the system clock. */
  readonly clock?: Clock;
  readonly metrics?: MetricsRegistry;
  /** Effects of timer-driven turns (see InlineHostOptions.onEffects). */
  readonly onEffects?: (effects: BatchEffects) => void;
  /** See InlineHostOptions.commitMode. */
  readonly commitMode?: "explicit" | "on-return";
  /**
   * How workers load TypeScript: "tsx" registers tsx's ESM hooks in each worker (tests, tsx
   * runs), "none" for compiled JS. Default: "tsx" when this module itself is a .ts file.
   */
  readonly tsLoader?: "tsx" | "none";
  /** Extra execArgv for workers (default: none; the tsx hooks are registered by the bootstrap). */
  readonly execArgv?: readonly string[];
  /** Most rounds of cross-worker sends resolved inside one deliver. Default 8. */
  readonly maxSendRounds?: number;
}

interface Req {
  readonly msg: ToWorker;
  readonly resolve: (r: { effects?: EffectsAcc; stats?: WorkerStats }) => void;
  readonly reject: (e: Error) => void;
  crashes: number;
}

interface Slot {
  readonly index: number;
  worker: Worker | null;
  ready: boolean;
  pending: Map<number, Req>;
  /** Requests waiting for the worker (during start or recovery), in order. */
  backlog: Req[];
  partitions: Set<number>;
  returnedHigh: Map<number, number>;
  inFlight: number;
  recovering: Promise<void> | null;
}

const SELF_IS_TS = import.meta.url.endsWith(".ts");

/** Path of tsx's ESM API (its "import" export; the CommonJS one cannot register ESM hooks). */
function tsxEsmApi(): string {
  const pkg = createRequire(import.meta.url).resolve("tsx/package.json");
  return join(dirname(pkg), "dist/esm/api/index.mjs");
}

/**
 * RuntimeHost on N worker threads. Partition p lives on worker p % N (pinned); a delivered batch
 * crosses to each worker it touches as one postMessage of columns; a cooperative ShardCore runs
 * the turns there. Snapshot I/O and all effects stay in the main thread. A worker that dies is
 * replaced: its partitions are rebuilt (snapshots + state-only journal replay up to the last
 * batch it returned) and the batches it held run again on the new worker.
 */
export class WorkerPoolHost implements RuntimeHost {
  private readonly slots: Slot[] = [];
  private readonly writer: SnapshotWriter;
  private readonly clock: Clock;
  private readonly metrics: RuntimeMetrics;
  private readonly partitionOf: (type: string, id: string) => number;
  private nextRequest = 1;
  private closed = false;
  private closing = false;
  private workerRestarts = 0;
  private carried: BatchEffects | null = null;
  private flushTimer: TimerHandle | null = null;
  private gate: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];
  private delivering = 0;

  private constructor(
    private readonly opts: WorkerPoolHostOptions,
    private readonly o: ResolvedRuntimeOptions,
    private readonly n: number,
  ) {
    this.writer = new SnapshotWriter(opts.snapshots);
    this.clock = opts.clock ?? createSystemClock();
    this.metrics = createRuntimeMetrics(opts.metrics);
    this.partitionOf = partitionFor(o.partitions);
  }

  /** Start the workers and wait until each has loaded its actor logics. */
  static async create(opts: WorkerPoolHostOptions): Promise<WorkerPoolHost> {
    const o = resolveRuntimeOptions(opts);
    const n = checkInt("runtime.workers", opts.workers ?? availableParallelism(), 1);
    if (opts.logics.length === 0) throw new RuntimeOptionsError("logics must name at least one actor logic module");
    const host = new WorkerPoolHost(opts, o, n);
    for (let i = 0; i < n; i++) {
      host.slots.push({ index: i, worker: null, ready: false, pending: new Map(), backlog: [], partitions: new Set(), returnedHigh: new Map(), inFlight: 0, recovering: null });
    }
    try {
      await Promise.all(host.slots.map((s) => host.spawn(s)));
    } catch (err) {
      await host.terminateAll();
      throw err;
    }
    return host;
  }

  /** Worker count. */
  get workers(): number {
    return this.n;
  }

  // ---- RuntimeHost -------------------------------------------------------------------------------

  async deliver(batch: readonly Envelope[]): Promise<BatchEffects> {
    if (this.closed || this.closing) throw new HostClosedError();
    if (this.gate !== null) await this.waitGate();
    this.delivering++;
    try {
      const parts = this.split(batch);
      const results = await Promise.all(parts.map(([slot, cols]) => this.deliverTo(slot, cols, false)));
      const out = results.length === 1 ? results[0]! : this.merge(results);
      await this.routeSends(out);
      if (this.opts.commitMode === "on-return") for (const e of batch) this.writer.committed(e.partition, e.streamSeq);
      return this.withCarried(out);
    } finally {
      if (--this.delivering === 0) for (const w of this.idleWaiters.splice(0)) w();
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
    return this.exclusive(async () => {
      const slot = this.slots[workerFor(partition, this.n)]!;
      const high = this.writer.committedThrough(partition);
      await this.request(slot, { t: "drop", requestId: 0, partition, high });
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
   * Hand a partition off. The pool has no drop-without-replay message yet: it writes committed
   * snapshots, then resets (the worker replays the committed tail, effects suppressed).
   */
  async releasePartition(partition: number): Promise<void> {
    await this.flushSnapshots();
    await this.resetPartition(partition);
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
    const r = await this.request(slot, msg);
    const out = r.effects ?? emptyEffects();
    await this.routeSends(out);
    return this.withCarried(out);
  }

  async broadcast(msg: { readonly type: string }, actorType?: string): Promise<BatchEffects> {
    if (this.closed) throw new HostClosedError();
    const results = await Promise.all(this.slots.map((s) => this.request(s, { t: "broadcast", requestId: 0, msg, actorType }).then((r) => r.effects ?? emptyEffects())));
    const out = this.merge(results);
    await this.routeSends(out);
    return this.withCarried(out);
  }

  async setLimits(limits: HostLimits): Promise<void> {
    await Promise.all(this.slots.map((s) => this.request(s, { t: "limits", requestId: 0, limits })));
  }

  async introspect(): Promise<HostIntrospection> {
    const workers = await Promise.all(this.slots.map((s) => this.request(s, { t: "stats", requestId: 0 }).then((r) => r.stats!)));
    const view = { workers, workerRestarts: this.workerRestarts, pendingSnapshots: this.writer.pendingCount };
    this.metrics.update(view);
    return view;
  }

  /** Write committed snapshots and checkpoints now. */
  flushSnapshots(): Promise<void> {
    return this.writer.flush();
  }

  /** Chaos/testing hook: terminate worker `index` as if it crashed. */
  async killWorker(index: number): Promise<void> {
    await this.slots[index]?.worker?.terminate();
  }

  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    while (this.delivering > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    await Promise.all(this.slots.map((s) => this.request(s, { t: "close", requestId: 0 }).catch(() => undefined)));
    this.closed = true;
    if (this.flushTimer !== null) this.clock.clearTimeout(this.flushTimer);
    await this.writer.flush();
    await this.terminateAll();
  }

  // ---- batches -----------------------------------------------------------------------------------

  private split(batch: readonly Envelope[]): [Slot, Columns][] {
    if (this.n === 1 || batch.length === 0) {
      const slot = this.slots[0]!;
      for (const e of batch) slot.partitions.add(e.partition);
      return [[slot, toColumns(batch)]];
    }
    const first = workerFor(batch[0]!.partition, this.n);
    let single = true;
    for (let i = 1; i < batch.length && single; i++) single = workerFor(batch[i]!.partition, this.n) === first;
    if (single) {
      const slot = this.slots[first]!;
      for (const e of batch) slot.partitions.add(e.partition);
      return [[slot, toColumns(batch)]];
    }
    const by = new Map<number, Envelope[]>();
    for (const e of batch) {
      const w = workerFor(e.partition, this.n);
      let arr = by.get(w);
      if (arr === undefined) by.set(w, (arr = []));
      arr.push(e);
      this.slots[w]!.partitions.add(e.partition);
    }
    return [...by].map(([w, envs]) => [this.slots[w]!, toColumns(envs)]);
  }

  private async deliverTo(slot: Slot, cols: Columns, replay: boolean): Promise<EffectsAcc> {
    const n = cols.ids.length;
    slot.inFlight += n;
    try {
      const r = await this.request(slot, { t: "deliver", requestId: 0, cols, replay });
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

  private merge(results: readonly BatchEffects[]): EffectsAcc {
    const out = emptyEffects() as EffectsAcc;
    (out as { sends: OutSend[] }).sends = [];
    for (const r of results) {
      mergeEffects(out, r);
      for (const s of (r as EffectsAcc).sends ?? []) out.sends.push(s);
    }
    return out;
  }

  /** Cross-worker sends: route to the hosting workers, a bounded number of rounds. */
  private async routeSends(out: BatchEffects): Promise<void> {
    let sends = (out as Partial<EffectsAcc>).sends ?? [];
    const maxRounds = this.opts.maxSendRounds ?? 8;
    for (let round = 0; sends.length > 0; round++) {
      if (round >= maxRounds) {
        for (const s of sends) {
          const partition = this.partitionOf(s.to.type, s.to.id);
          out.deadLetters.push({ stage: "runtime", code: "send_depth_exceeded", reason: `more than ${maxRounds} rounds of cross-worker sends`, envelope: { actorType: s.to.type, actorId: s.to.id, partition, streamSeq: 0, msg: s.msg } });
        }
        break;
      }
      const envs: Envelope[] = sends.map((s) => ({ actorType: s.to.type, actorId: s.to.id, partition: this.partitionOf(s.to.type, s.to.id), streamSeq: 0, msg: s.msg }));
      const results = await Promise.all(this.split(envs).map(([slot, cols]) => this.deliverTo(slot, cols, false)));
      const next: OutSend[] = [];
      for (const r of results) {
        mergeEffects(out, r);
        for (const s of r.sends) next.push(s);
      }
      sends = next;
    }
    if ((out as Partial<EffectsAcc>).sends !== undefined) (out as unknown as { sends: OutSend[] }).sends = [];
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

  private async waitGate(): Promise<void> {
    while (this.gate !== null) await this.gate;
  }

  private async exclusive(fn: () => Promise<void>): Promise<void> {
    await this.waitGate();
    let open!: () => void;
    this.gate = new Promise<void>((r) => (open = r));
    try {
      while (this.delivering > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
      await fn();
    } finally {
      this.gate = null;
      open();
    }
  }

  // ---- worker protocol ---------------------------------------------------------------------------

  private request(slot: Slot, msg: ToWorker): Promise<{ effects?: EffectsAcc; stats?: WorkerStats }> {
    return new Promise((resolve, reject) => {
      const req: Req = { msg, resolve, reject, crashes: 0 };
      if (slot.ready && slot.recovering === null) this.post(slot, req);
      else slot.backlog.push(req);
    });
  }

  private post(slot: Slot, req: Req): void {
    const requestId = this.nextRequest++;
    (req.msg as { requestId: number }).requestId = requestId;
    slot.pending.set(requestId, req);
    slot.worker!.postMessage(req.msg);
  }

  private spawn(slot: Slot): Promise<void> {
    const init: WorkerInit = { index: slot.index, workers: this.n, logics: this.opts.logics, options: this.o };
    const ext = SELF_IS_TS ? ".ts" : ".js";
    const entry = new URL(`./worker-entry${ext}`, import.meta.url).href;
    const ts = (this.opts.tsLoader ?? (SELF_IS_TS ? "tsx" : "none")) === "tsx";
    const code = ts
      ? `import(${JSON.stringify(tsxEsmApi())}).then((a) => { a.register(); return import(${JSON.stringify(entry)}); })`
      : `import(${JSON.stringify(entry)})`;
    const worker = new Worker(code, { eval: true, workerData: init, execArgv: [...(this.opts.execArgv ?? [])] });
    slot.worker = worker;
    slot.ready = false;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on("message", (m: FromWorker) => {
        if (m.t === "ready") {
          started = true;
          slot.ready = true;
          resolve();
        } else if (m.t === "fatal" && !started) {
          reject(fromWireError(m.error));
        } else this.onMessage(slot, m);
      });
      worker.on("error", (err) => {
        if (!started) reject(err);
      });
      worker.on("exit", () => {
        if (slot.worker !== worker) return;
        slot.worker = null;
        slot.ready = false;
        if (!started) return;
        if (!this.closed) this.onCrash(slot);
      });
    });
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    switch (m.t) {
      case "done": {
        const req = slot.pending.get(m.requestId);
        slot.pending.delete(m.requestId);
        req?.resolve(m);
        return;
      }
      case "failed": {
        const req = slot.pending.get(m.requestId);
        slot.pending.delete(m.requestId);
        req?.reject(fromWireError(m.error));
        return;
      }
      case "bg":
        this.onBackground(m.bg);
        return;
      case "load": {
        const worker = slot.worker;
        this.writer.load(m.keys).then(
          (snaps) => worker?.postMessage({ t: "loaded", loadId: m.loadId, snaps } satisfies ToWorker),
          (err: unknown) => worker?.postMessage({ t: "loaded", loadId: m.loadId, error: toWireError(err) } satisfies ToWorker),
        );
        return;
      }
      default:
        return;
    }
  }

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

  /** A worker died: fail what cannot be redone, start a replacement, rebuild, re-run the rest. */
  private onCrash(slot: Slot): void {
    this.workerRestarts++;
    const held = [...slot.pending.values()];
    slot.pending.clear();
    const rerun: Req[] = [];
    const partitions = [...slot.partitions].sort((a, b) => a - b);
    for (const req of held) {
      req.crashes++;
      const redo = req.msg.t === "deliver" && !req.msg.replay && req.crashes < this.o.maxAttempts;
      if (redo) rerun.push(req);
      else req.reject(new WorkerCrashedError(slot.index, partitions, req.msg.t !== "deliver" || req.msg.replay));
    }
    slot.backlog.unshift(...rerun);
    // Died during a recovery: that recovery's retry loop starts the next worker.
    if (slot.recovering !== null) return;
    slot.recovering = this.recoverSlot(slot, partitions).finally(() => {
      slot.recovering = null;
      const backlog = slot.backlog.splice(0);
      for (const req of backlog) this.post(slot, req);
    });
  }

  private async recoverSlot(slot: Slot, partitions: readonly number[]): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.spawn(slot);
        for (const p of partitions) {
          const to = slot.returnedHigh.get(p) ?? 0;
          const from = this.writer.replayFrom(p);
          if (this.opts.journal === undefined || from > to) continue;
          for await (const envs of this.opts.journal.read(p, from, to)) {
            if (envs.length === 0) continue;
            await new Promise<unknown>((resolve, reject) => this.post(slot, { msg: { t: "deliver", requestId: 0, cols: toColumns(envs), replay: true }, resolve, reject, crashes: 0 }));
          }
        }
        return;
      } catch (err) {
        // Journal or store unavailable (or the replay crashed the worker): what was waiting is
        // rejected as retryable (nak), then try again with backoff.
        for (const req of slot.backlog.splice(0)) req.reject(new RecoveryError(partitions[0] ?? -1, { cause: err }));
        await slot.worker?.terminate();
        await new Promise((r) => setTimeout(r, Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** attempt)));
      }
    }
  }

  private async terminateAll(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
  }
}
