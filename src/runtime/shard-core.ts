import type { ActorAddress, ActorContext } from "../ports/actor.js";
import type { CallResult, Envelope, HostLimits, OutCall, WorkerStats } from "../ports/actor-host.js";
import type { Clock, TimerHandle } from "../ports/clock.js";
import type { Row } from "../ports/row-sink.js";
import type { ActorSnapshot, SnapshotKey } from "../ports/snapshot-store.js";
import { ActorCell, CellQueue, LruList, type AnyLogic } from "./actor-cell.js";
import { DLQ_STAGE, EffectsAcc, type Columns } from "./effects.js";
import { LatencyHistogram } from "./latency.js";
import { MailboxArena } from "./mailbox-arena.js";
import { TimerHeap, type TimerRec } from "./timer-heap.js";

/** A snapshot taken by a shard, on its way to the SnapshotStore. */
export interface SnapshotOut {
  readonly actorType: string;
  readonly actorId: string;
  readonly partition: number;
  readonly snapshot: ActorSnapshot;
  /** Lowest journal seq whose effect this snapshot makes durable (0 = none): the replay floor it lifts. */
  readonly coversFrom: number;
}

/** Options of a shard core (one per worker thread, or one for an in-thread host). */
export interface ShardCoreOptions {
  readonly logics: readonly AnyLogic[];
  readonly clock: Clock;
  /** Load snapshots of actors being activated (one call per batch of activations). */
  readonly load: (keys: SnapshotKey[]) => Promise<(ActorSnapshot | undefined)[]>;
  /** Partition of an actor (for sends and timers to inactive actors). */
  readonly partitionOf: (actorType: string, actorId: string) => number;
  /** Whether this shard hosts the actor; others' messages come back as `sends`. Default: all. */
  readonly isLocal?: (actorType: string, actorId: string) => boolean;
  /** Yield to the event loop and call `fn` (setImmediate in production). */
  readonly defer: (fn: () => void) => void;
  /** Timer/call-reply effects or snapshots are waiting: the host should call `takeBackground`. */
  readonly onBackground: () => void;
  readonly worker: number;
  readonly mailboxCapacity: number;
  readonly queueCapacity: number;
  readonly maxActiveActors: number;
  readonly passivateAfterMs: number;
  readonly snapshotEveryMessages: number;
  readonly snapshotEveryMs: number;
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly turnsPerSlice: number;
  readonly sliceBudget: number;
  /** Call ids are `n * callIdStride + callIdOffset`, unique across workers. */
  readonly callIdStride: number;
  readonly callIdOffset: number;
}

/** A batch being admitted/processed. */
class Batch {
  remaining = 0;
  cursor = 0;
  admitted = false;
  complete = false;
  readonly acc = new EffectsAcc();
  constructor(
    readonly cols: Columns,
    readonly replay: boolean,
    readonly done: (acc: EffectsAcc) => void,
  ) {}
}

interface PendingCall {
  readonly actorType: string;
  readonly actorId: string;
  readonly onReply: (res: unknown) => { readonly type: string };
  readonly onError: (err: Error) => { readonly type: string };
}

type Msg = { readonly type: string };

/**
 * The single-threaded actor engine: mailboxes, cooperative scheduler, turn-buffered effects,
 * supervision, passivation (idle + LRU), timers on the Clock and snapshot cadence. The in-thread
 * host uses it directly; each worker thread runs one.
 */
export class ShardCore {
  private readonly logics = new Map<string, AnyLogic>();
  private readonly cells = new Map<string, Map<string, ActorCell>>();
  private readonly lru = new LruList();
  private readonly runq = new CellQueue();
  private readonly arena: MailboxArena<Batch>;
  private readonly parked: Batch[] = [];
  private readonly completed: Batch[] = [];
  private readonly order: Batch[] = [];
  private readonly toLoad: ActorCell[] = [];
  private readonly dirtyCells: ActorCell[] = [];
  private readonly heap = new TimerHeap();
  private readonly dormant = new Map<string, Map<string, TimerRec[]>>();
  private readonly calls = new Map<number, PendingCall>();
  private readonly partHigh: number[] = [];
  private readonly fired: TimerRec[] = [];
  private bg = new EffectsAcc();
  private snaps: SnapshotOut[] = [];
  private clockHandle: TimerHandle | null = null;
  private clockDue = Infinity;
  private tickHandle: TimerHandle | null = null;
  private draining = false;
  private drainScheduled = false;
  private closed = false;
  private nextCall = 0;
  private maxActive: number;
  private idleMs: number;
  private now = 0;
  private turnNo = 0;
  // turn buffers, reused
  private cur: ActorCell | null = null;
  private readonly tRowTables: string[] = [];
  private readonly tRows: Row[] = [];
  private readonly tEvents: { subject: string; data: unknown }[] = [];
  private readonly tSends: unknown[] = [];
  private readonly tCalls: { service: string; method: string; req: unknown; onReply: PendingCall["onReply"]; onError: PendingCall["onError"] }[] = [];
  private readonly tTimerNames: string[] = [];
  private readonly tTimerDelays: number[] = [];
  private readonly tTimerMsgs: unknown[] = [];
  readonly latency = new LatencyHistogram();
  readonly activationLatency = new LatencyHistogram();
  readonly counters = { turns: 0, activations: 0, passivations: 0, restarts: 0, deadLetters: 0, snapshots: 0, skipped: 0, lostReplies: 0, loadFailures: 0 };
  private readonly ctx: ActorContext<Msg>;

  constructor(private readonly o: ShardCoreOptions) {
    for (const l of o.logics) this.logics.set(l.type, l);
    this.arena = new MailboxArena<Batch>(o.queueCapacity);
    this.maxActive = o.maxActiveActors;
    this.idleMs = o.passivateAfterMs;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the ctx getters need the core, not the ctx
    const core = this;
    this.ctx = {
      get self(): ActorAddress {
        return core.cur!.self;
      },
      now: () => o.clock.now(),
      send(to, msg) {
        core.tSends.push(to, msg);
      },
      emit(subject, data) {
        core.tEvents.push({ subject, data });
      },
      write(table, row) {
        core.tRowTables.push(table);
        core.tRows.push(row);
      },
      call(service, method, req, onReply, onError) {
        core.tCalls.push({ service, method, req, onReply: onReply as PendingCall["onReply"], onError });
      },
      setTimer(name, delayMs, msg) {
        core.tTimerNames.push(name);
        core.tTimerDelays.push(Math.max(0, delayMs));
        core.tTimerMsgs.push(msg);
      },
      cancelTimer(name) {
        core.tTimerNames.push(name);
        core.tTimerDelays.push(-1);
        core.tTimerMsgs.push(null);
      },
    };
    this.armTick();
  }

  // ---- public surface -------------------------------------------------------------------------

  /** Submit a batch (in order per actor); `done` gets its effects once every message finished. */
  submit(cols: Columns, replay: boolean, done: (acc: EffectsAcc) => void): void {
    const b = new Batch(cols, replay, done);
    this.parked.push(b);
    this.order.push(b);
    this.pump();
  }

  /** Deliver `msg` to every active actor (of `actorType`, if given). */
  broadcast(msg: Msg, actorType: string | undefined, done: (acc: EffectsAcc) => void): void {
    const types: string[] = [];
    const ids: string[] = [];
    const parts: number[] = [];
    for (const [type, m] of this.cells) {
      if (actorType !== undefined && type !== actorType) continue;
      for (const c of m.values()) {
        types.push(type);
        ids.push(c.id);
        parts.push(c.partition);
      }
    }
    const msgs = new Array<Msg>(ids.length).fill(msg);
    this.submit({ types, ids, parts, seqs: new Float64Array(ids.length), msgs }, false, done);
  }

  /** Complete an OutCall; the actor receives its reply message. */
  resolveCall(callId: number, result: CallResult, done: (acc: EffectsAcc) => void): void {
    const pc = this.calls.get(callId);
    if (pc === undefined) {
      this.counters.lostReplies++;
      done(new EffectsAcc());
      return;
    }
    this.calls.delete(callId);
    let msg: Msg;
    try {
      msg = result.ok ? pc.onReply(result.value) : pc.onError(result.error);
    } catch (err) {
      const acc = new EffectsAcc();
      const env: Envelope = { actorType: pc.actorType, actorId: pc.actorId, partition: this.o.partitionOf(pc.actorType, pc.actorId), streamSeq: 0, msg: { type: "call-reply" } };
      this.deadLetter(acc, env, err);
      done(acc);
      return;
    }
    const part = this.o.partitionOf(pc.actorType, pc.actorId);
    this.submit({ types: [pc.actorType], ids: [pc.actorId], parts: [part], seqs: [0], msgs: [msg] }, false, done);
  }

  /** Effects of turns outside any batch (timers) and snapshots taken since the last call. */
  takeBackground(): { effects: EffectsAcc | null; snapshots: SnapshotOut[] } {
    const effects = this.bg.empty ? null : this.bg;
    if (effects !== null) this.bg = new EffectsAcc();
    const snapshots = this.snaps;
    this.snaps = [];
    return { effects, snapshots };
  }

  /** Replay floor per partition: the lowest journal seq not covered by a taken snapshot. */
  lowWater(): [number, number][] {
    const low = new Map<number, number>();
    this.partHigh.forEach((high, p) => low.set(p, high + 1));
    this.compactDirty();
    for (const c of this.dirtyCells) {
      if (c.dirtyFrom > 0 && c.dirtyFrom < (low.get(c.partition) ?? Infinity)) low.set(c.partition, c.dirtyFrom);
    }
    return [...low];
  }

  /** Change limits live; an over-full worker passivates down to the new cap. */
  setLimits(l: HostLimits): void {
    if (l.maxActiveActors !== undefined) this.maxActive = l.maxActiveActors;
    if (l.passivateAfterMs !== undefined) this.idleMs = l.passivateAfterMs;
    this.evict();
    this.flushBackground();
  }

  /** Free mailbox slots (messages this shard can still accept). */
  credit(): number {
    let parkedMsgs = 0;
    for (const b of this.parked) parkedMsgs += b.cols.ids.length - b.cursor;
    return Math.max(0, this.arena.free - parkedMsgs);
  }

  /** Messages admitted or parked and not yet finished. */
  get inFlight(): number {
    let parkedMsgs = 0;
    for (const b of this.parked) parkedMsgs += b.cols.ids.length - b.cursor;
    return this.arena.size + parkedMsgs;
  }

  /** Snapshot every dirty active actor (used before close / handoff). */
  snapshotAll(): void {
    this.compactDirty();
    for (const c of this.dirtyCells.splice(0)) {
      c.inDirtyList = false;
      if (c.live && c.dirty && c.ready) this.snapshot(c);
    }
  }

  /**
   * Forget every active actor of `partition` without snapshotting (timers are kept), so the next
   * message re-activates it from its newest snapshot. `high` becomes the partition's high-water
   * stream seq (the committed one). Call only with no batch of the partition in flight.
   */
  dropPartition(partition: number, high: number): void {
    for (const m of this.cells.values()) {
      for (const c of m.values()) {
        if (c.partition !== partition) continue;
        // Only timer messages can be queued here (the caller drained its batches); they are lost.
        while (c.depth > 0) this.pop(c, this.arena.batches[c.head]!);
        c.dirty = false;
        c.dirtyFrom = 0;
        c.ready = true;
        this.passivate(c);
        this.counters.passivations--;
      }
    }
    this.partHigh[partition] = high;
    this.finishCompleted();
  }

  /** Stop timers; pending batches never finish after this. */
  close(): void {
    this.closed = true;
    if (this.clockHandle !== null) this.o.clock.clearTimeout(this.clockHandle);
    if (this.tickHandle !== null) this.o.clock.clearTimeout(this.tickHandle);
    this.clockHandle = this.tickHandle = null;
  }

  /** Live counters. */
  stats(): WorkerStats {
    const activeByType: Record<string, number> = {};
    let maxDepth = 0;
    const parts = new Set<number>();
    for (const [type, m] of this.cells) {
      activeByType[type] = m.size;
      for (const c of m.values()) {
        if (c.depth > maxDepth) maxDepth = c.depth;
      }
    }
    this.partHigh.forEach((_, p) => parts.add(p));
    return {
      worker: this.o.worker,
      partitions: [...parts].sort((a, b) => a - b),
      activeByType,
      mailboxDepth: this.arena.size,
      maxMailboxDepth: maxDepth,
      inFlight: this.inFlight,
      ...this.countersView(),
      turnLatencyUs: { p50: this.latency.quantile(0.5), p99: this.latency.quantile(0.99), max: this.latency.max },
    };
  }

  /** State of an active actor (tests and admin); undefined when not active. */
  peek(actorType: string, actorId: string): unknown {
    const c = this.cells.get(actorType)?.get(actorId);
    return c?.ready ? c.state : undefined;
  }

  /** Active actor count. */
  get active(): number {
    return this.lru.size;
  }

  // ---- admission --------------------------------------------------------------------------------

  private pump(): void {
    while (this.parked.length > 0) {
      const b = this.parked[0]!;
      if (!this.admit(b)) break;
      this.parked.shift();
    }
    if (this.toLoad.length > 0) this.startLoad();
    this.finishCompleted();
    this.kick();
  }

  private admit(b: Batch): boolean {
    const { types, ids, parts, seqs, msgs } = b.cols;
    const n = ids.length;
    const cap = this.o.mailboxCapacity;
    for (let i = b.cursor; i < n; i++) {
      const cell = this.cellFor(types[i]!, ids[i]!, parts[i]!);
      if (cell === null) {
        if (!b.replay) this.deadLetter(b.acc, { actorType: types[i]!, actorId: ids[i]!, partition: parts[i]!, streamSeq: seqs[i]!, msg: msgs[i]! }, new Error(`unknown actor type "${types[i]!}"`), "unknown_actor_type");
        continue;
      }
      if (cell.depth >= cap || this.arena.free === 0) {
        b.cursor = i;
        return false;
      }
      this.enqueue(cell, msgs[i], seqs[i]!, b);
      b.remaining++;
    }
    b.cursor = n;
    b.admitted = true;
    if (b.remaining === 0) this.completed.push(b);
    return true;
  }

  private cellFor(type: string, id: string, partition: number): ActorCell | null {
    let m = this.cells.get(type);
    if (m === undefined) {
      const logic = this.logics.get(type);
      if (logic === undefined) return null;
      m = new Map();
      this.cells.set(type, m);
    }
    let c = m.get(id);
    if (c === undefined) {
      c = new ActorCell(this.logics.get(type)!, id, partition);
      c.activatedAt = this.o.clock.now();
      c.lastUsed = c.activatedAt;
      m.set(id, c);
      this.lru.pushFront(c);
      const dm = this.dormant.get(type);
      const timers = dm?.get(id);
      if (timers !== undefined) {
        dm!.delete(id);
        c.timers = timers;
      }
      this.toLoad.push(c);
    }
    return c;
  }

  private enqueue(cell: ActorCell, msg: unknown, seq: number, b: Batch | null): void {
    const idx = this.arena.alloc(msg, seq, b);
    if (cell.tail >= 0) this.arena.next[cell.tail] = idx;
    else cell.head = idx;
    cell.tail = idx;
    cell.depth++;
    if (cell.ready && !cell.queued && !cell.backoff) {
      cell.queued = true;
      this.runq.push(cell);
    }
  }

  private startLoad(): void {
    let cells = this.toLoad.splice(0);
    if (this.snaps.length > 0) {
      // A snapshot taken here (passivation) but not yet handed to the host is the newest state.
      const own = new Map<ActorCell["self"]["type"], Map<string, SnapshotOut>>();
      for (const sn of this.snaps) {
        let m = own.get(sn.actorType);
        if (m === undefined) own.set(sn.actorType, (m = new Map()));
        m.set(sn.actorId, sn);
      }
      cells = cells.filter((c) => {
        const sn = own.get(c.logic.type)?.get(c.id);
        if (sn === undefined) return true;
        this.activate(c, sn.snapshot);
        return false;
      });
      if (cells.length === 0) return;
    }
    const keys = cells.map((c) => ({ actorType: c.logic.type, actorId: c.id }));
    this.o.load(keys).then(
      (snaps) => {
        for (let i = 0; i < cells.length; i++) this.activate(cells[i]!, snaps[i]);
        this.pump();
      },
      () => {
        // Store unavailable: keep the messages queued (bounded) and retry with backoff.
        this.counters.loadFailures++;
        this.o.clock.setTimeout(() => {
          for (const c of cells) if (c.live) this.toLoad.push(c);
          this.pump();
        }, this.o.backoffBaseMs);
      },
    );
  }

  private activate(c: ActorCell, snap: ActorSnapshot | undefined): void {
    if (!c.live) return;
    try {
      if (snap !== undefined) {
        c.state = c.logic.restore(snap.state, c.id);
        c.streamSeq = snap.streamSeq;
      } else {
        c.state = c.logic.initial(c.id);
      }
    } catch (err) {
      // A corrupt snapshot must not wedge the actor: dead-letter its queue and start fresh.
      c.state = c.logic.initial(c.id);
      this.counters.loadFailures++;
      void err;
    }
    c.ready = true;
    this.counters.activations++;
    this.activationLatency.record((this.o.clock.now() - c.activatedAt) * 1000);
    if (c.depth > 0 && !c.queued) {
      c.queued = true;
      this.runq.push(c);
    }
  }

  // ---- scheduling -------------------------------------------------------------------------------

  private kick(): void {
    if (this.draining || this.drainScheduled || this.runq.length === 0) return;
    this.drain();
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.now = this.o.clock.now();
    let budget = this.o.sliceBudget;
    const per = this.o.turnsPerSlice;
    while (budget > 0 && this.runq.length > 0) {
      const cell = this.runq.shift()!;
      cell.queued = false;
      if (!cell.ready || cell.backoff || !cell.live) continue;
      this.lru.touch(cell);
      cell.lastUsed = this.now;
      let k = 0;
      while (k < per && cell.depth > 0 && !cell.backoff) {
        this.runTurn(cell);
        k++;
      }
      budget -= k;
      if (cell.sinceSnap >= this.o.snapshotEveryMessages) this.snapshot(cell);
      if (cell.depth > 0 && !cell.backoff && !cell.queued) {
        cell.queued = true;
        this.runq.push(cell);
      }
    }
    this.draining = false;
    // Admission may have been blocked on full mailboxes that just drained.
    while (this.parked.length > 0 && this.admit(this.parked[0]!)) this.parked.shift();
    if (this.toLoad.length > 0) this.startLoad();
    if (this.lru.size > this.maxActive) this.evict();
    this.finishCompleted();
    if (this.runq.length > 0 && !this.drainScheduled) {
      this.drainScheduled = true;
      this.o.defer(() => {
        this.drainScheduled = false;
        this.drain();
      });
    }
    this.flushBackground();
  }

  /**
   * Batches resolve in submission order (a later batch may finish first, e.g. while an earlier
   * one waits for an activation): callers track "applied through stream seq" per partition.
   */
  private finishCompleted(): void {
    if (this.completed.length === 0) return;
    for (const b of this.completed) b.complete = true;
    this.completed.length = 0;
    const order = this.order;
    let n = 0;
    while (n < order.length && order[n]!.complete) n++;
    if (n === 0) return;
    const done = order.splice(0, n);
    for (const b of done) b.done(b.acc);
  }

  private flushBackground(): void {
    if (!this.bg.empty || this.snaps.length > 0) this.o.onBackground();
  }

  // ---- turns ------------------------------------------------------------------------------------

  private runTurn(cell: ActorCell): void {
    const a = this.arena;
    const idx = cell.head;
    const seq = a.seqs[idx]!;
    const b = a.batches[idx]!;
    if (b !== null && b.replay && seq > 0 && seq <= cell.streamSeq) {
      // A journal message this state already contains (replay after recovery). Only replays are
      // skipped by stream sequence: live deliveries can legitimately arrive out of stream order
      // (JetStream redelivers an unacked message after ack_wait, behind newer ones); duplicates
      // among them are the actor's business (the device actor dedups by device sequence).
      this.counters.skipped++;
      this.pop(cell, b);
      return;
    }
    const msg = a.msgs[idx] as Msg;
    this.cur = cell;
    const sample = (++this.turnNo & 63) === 0;
    const t0 = sample ? performance.now() : 0;
    let next: unknown;
    try {
      next = cell.logic.receive(cell.state, msg, this.ctx);
    } catch (err) {
      this.cur = null;
      this.resetTurn();
      this.onFailure(cell, msg, seq, b, err);
      return;
    }
    if (sample) this.latency.record((performance.now() - t0) * 1000);
    this.cur = null;
    cell.state = next;
    this.commitTurn(cell, b);
    cell.attempts = 0;
    this.counters.turns++;
    this.applied(cell, seq);
    this.pop(cell, b);
  }

  private applied(cell: ActorCell, seq: number): void {
    if (seq > 0) {
      if (seq > cell.streamSeq) cell.streamSeq = seq;
      if (cell.dirtyFrom === 0 || seq < cell.dirtyFrom) cell.dirtyFrom = seq;
      const p = cell.partition;
      if (!(this.partHigh[p]! >= seq)) this.partHigh[p] = seq;
    }
    if (!cell.dirty) {
      cell.dirty = true;
      cell.dirtyAt = this.now;
    }
    if (!cell.inDirtyList) {
      cell.inDirtyList = true;
      this.dirtyCells.push(cell);
    }
    cell.sinceSnap++;
  }

  private pop(cell: ActorCell, b: Batch | null): void {
    const idx = cell.head;
    cell.head = this.arena.next[idx]!;
    if (cell.head < 0) cell.tail = -1;
    cell.depth--;
    this.arena.release(idx);
    if (b !== null && --b.remaining === 0 && b.admitted) this.completed.push(b);
  }

  private resetTurn(): void {
    // Truncating an empty array is not free: only touch the buffers this turn used.
    if (this.tRows.length !== 0) {
      this.tRowTables.length = 0;
      this.tRows.length = 0;
    }
    if (this.tEvents.length !== 0) this.tEvents.length = 0;
    if (this.tSends.length !== 0) this.tSends.length = 0;
    if (this.tCalls.length !== 0) this.tCalls.length = 0;
    if (this.tTimerNames.length !== 0) {
      this.tTimerNames.length = 0;
      this.tTimerDelays.length = 0;
      this.tTimerMsgs.length = 0;
    }
  }

  private commitTurn(cell: ActorCell, b: Batch | null): void {
    for (let i = 0; i < this.tTimerNames.length; i++) this.applyTimer(cell, this.tTimerNames[i]!, this.tTimerDelays[i]!, this.tTimerMsgs[i]);
    // A replayed turn rebuilds state only: its effects were committed before the crash.
    if (b === null || !b.replay) {
      const acc = b === null ? this.bg : b.acc;
      let lastTable = "";
      let arr: Row[] | undefined;
      for (let i = 0; i < this.tRows.length; i++) {
        const t = this.tRowTables[i]!;
        if (t !== lastTable || arr === undefined) {
          arr = acc.rows.get(t);
          if (arr === undefined) acc.rows.set(t, (arr = []));
          lastTable = t;
        }
        arr.push(this.tRows[i]!);
      }
      for (let i = 0; i < this.tEvents.length; i++) acc.events.push(this.tEvents[i]!);
      for (let i = 0; i < this.tCalls.length; i++) {
        const c = this.tCalls[i]!;
        const callId = this.nextCall++ * this.o.callIdStride + this.o.callIdOffset;
        this.calls.set(callId, { actorType: cell.logic.type, actorId: cell.id, onReply: c.onReply, onError: c.onError });
        const out: OutCall = { from: cell.self, service: c.service, method: c.method, req: c.req, callId };
        acc.calls.push(out);
      }
      for (let i = 0; i < this.tSends.length; i += 2) this.routeSend(this.tSends[i] as ActorAddress, this.tSends[i + 1] as Msg, b, acc);
    }
    this.resetTurn();
  }

  private routeSend(to: ActorAddress, msg: Msg, b: Batch | null, acc: EffectsAcc): void {
    if (this.o.isLocal !== undefined && !this.o.isLocal(to.type, to.id)) {
      acc.sends.push({ to, msg });
      return;
    }
    const part = this.o.partitionOf(to.type, to.id);
    const target = this.cellFor(to.type, to.id, part);
    const env = (): Envelope => ({ actorType: to.type, actorId: to.id, partition: part, streamSeq: 0, msg });
    if (target === null) return this.deadLetter(acc, env(), new Error(`unknown actor type "${to.type}"`), "unknown_actor_type");
    // Sends may exceed the per-actor cap (a turn cannot block) but never the worker's arena.
    if (this.arena.free === 0) return this.deadLetter(acc, env(), new Error("worker mailbox arena full"), "mailbox_full");
    this.enqueue(target, msg, 0, b);
    if (b !== null) b.remaining++;
  }

  private onFailure(cell: ActorCell, msg: Msg, seq: number, b: Batch | null, err: unknown): void {
    cell.attempts++;
    this.counters.restarts++;
    if (cell.attempts >= this.o.maxAttempts) {
      cell.attempts = 0;
      if (b === null || !b.replay) {
        this.deadLetter(b === null ? this.bg : b.acc, { actorType: cell.logic.type, actorId: cell.id, partition: cell.partition, streamSeq: seq, msg }, err);
      }
      // Consumed: a replay must skip it too.
      this.applied(cell, seq);
      this.pop(cell, b);
      return;
    }
    // Restart from the last good state (receive must not leave it half-updated) after a backoff.
    cell.backoff = true;
    const delay = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** (cell.attempts - 1));
    this.o.clock.setTimeout(() => {
      cell.backoff = false;
      if (cell.depth > 0 && !cell.queued) {
        cell.queued = true;
        this.runq.push(cell);
      }
      this.kick();
    }, delay);
  }

  private deadLetter(acc: EffectsAcc, envelope: Envelope, err: unknown, code = "handler_failed"): void {
    this.counters.deadLetters++;
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    acc.deadLetters.push({ stage: DLQ_STAGE, code, reason, envelope });
  }

  // ---- timers -----------------------------------------------------------------------------------

  private applyTimer(cell: ActorCell, name: string, delay: number, msg: unknown): void {
    let rec: TimerRec | undefined;
    const list = cell.timers;
    if (list !== null) {
      for (let i = 0; i < list.length; i++) if (list[i]!.name === name) rec = list[i];
    }
    if (delay < 0) {
      if (rec !== undefined) rec.due = -1;
      return;
    }
    if (rec === undefined) {
      rec = { actorType: cell.logic.type, actorId: cell.id, name, msg, due: -1, heapDue: 0, heapIdx: -1 };
      if (list === null) cell.timers = [rec];
      else list.push(rec);
    }
    rec.msg = msg;
    rec.due = this.o.clock.now() + delay;
    this.heap.schedule(rec);
    if (rec.heapDue < this.clockDue) this.armClock();
  }

  private armClock(): void {
    const due = this.heap.peekDue();
    if (due === this.clockDue || this.closed) return;
    if (this.clockHandle !== null) this.o.clock.clearTimeout(this.clockHandle);
    this.clockHandle = null;
    this.clockDue = due;
    if (due === Infinity) return;
    this.clockHandle = this.o.clock.setTimeout(() => this.onClock(), Math.max(0, due - this.o.clock.now()));
  }

  private onClock(): void {
    this.clockHandle = null;
    this.clockDue = Infinity;
    const now = this.o.clock.now();
    this.heap.popDue(now, this.fired);
    for (const rec of this.fired) {
      const part = this.o.partitionOf(rec.actorType, rec.actorId);
      const cell = this.cellFor(rec.actorType, rec.actorId, part);
      if (cell === null) continue;
      if (this.arena.free === 0) {
        rec.due = now + this.o.backoffBaseMs;
        this.heap.schedule(rec);
        continue;
      }
      rec.due = -1;
      this.enqueue(cell, rec.msg, 0, null);
    }
    this.fired.length = 0;
    this.armClock();
    this.pump();
  }

  // ---- passivation and snapshots ----------------------------------------------------------------

  private armTick(): void {
    const every = Math.max(10, Math.min(1000, Math.floor(Math.min(this.o.snapshotEveryMs, this.idleMs) / 2)));
    this.tickHandle = this.o.clock.setTimeout(() => {
      this.tickHandle = null;
      if (this.closed) return;
      this.tick();
      this.armTick();
    }, every);
  }

  /** Maintenance: idle passivation and time-based snapshots. */
  tick(): void {
    const now = this.o.clock.now();
    const cutoff = now - this.idleMs;
    let c = this.lru.tail;
    while (c !== null && c.lastUsed <= cutoff) {
      const prev = c.prev;
      if (this.idle(c)) this.passivate(c);
      c = prev;
    }
    const snapBefore = now - this.o.snapshotEveryMs;
    this.compactDirty();
    for (const d of this.dirtyCells) if (d.dirty && d.ready && d.dirtyAt <= snapBefore) this.snapshot(d);
    this.flushBackground();
  }

  private idle(c: ActorCell): boolean {
    return c.ready && c.depth === 0 && !c.backoff && !c.queued;
  }

  private evict(): void {
    let over = this.lru.size - this.maxActive;
    let c = this.lru.tail;
    while (over > 0 && c !== null) {
      const prev = c.prev;
      if (this.idle(c)) {
        this.passivate(c);
        over--;
      }
      c = prev;
    }
  }

  private passivate(c: ActorCell): void {
    if (c.dirty) this.snapshot(c);
    c.live = false;
    this.lru.remove(c);
    this.cells.get(c.logic.type)!.delete(c.id);
    if (c.timers !== null && c.timers.some((t) => t.due >= 0)) {
      let dm = this.dormant.get(c.logic.type);
      if (dm === undefined) this.dormant.set(c.logic.type, (dm = new Map()));
      dm.set(c.id, c.timers);
    }
    c.state = undefined;
    this.counters.passivations++;
  }

  private snapshot(c: ActorCell): void {
    let bytes: Uint8Array;
    try {
      bytes = c.logic.snapshot(c.state);
    } catch {
      this.counters.loadFailures++;
      return;
    }
    this.snaps.push({
      actorType: c.logic.type,
      actorId: c.id,
      partition: c.partition,
      snapshot: { state: bytes, lastDeviceSeq: c.logic.lastSeq?.(c.state) ?? 0, streamSeq: c.streamSeq },
      coversFrom: c.dirtyFrom,
    });
    c.dirty = false;
    c.dirtyFrom = 0;
    c.sinceSnap = 0;
    this.counters.snapshots++;
  }

  private compactDirty(): void {
    let w = 0;
    const d = this.dirtyCells;
    for (let i = 0; i < d.length; i++) {
      const c = d[i]!;
      if (c.live && c.dirty) d[w++] = c;
      else c.inDirtyList = false;
    }
    d.length = w;
  }

  private countersView(): Omit<typeof this.counters, "lostReplies" | "loadFailures"> {
    const { turns, activations, passivations, restarts, deadLetters, snapshots, skipped } = this.counters;
    return { turns, activations, passivations, restarts, deadLetters, snapshots, skipped };
  }
}
