import type { ActorAddress } from "../ports/actor.js";
import type { CallResult, Envelope, HostLimits, OutCall, WorkerStats } from "../ports/actor-host.js";
import type { TimerHandle } from "../ports/clock.js";
import { ActorCell, CellQueue, LruList, type AnyLogic } from "./actor-cell.js";
import { DLQ_STAGE, EffectsAcc, type Columns } from "./effects.js";
import { LatencyHistogram } from "./latency.js";
import { MailboxArena } from "./mailbox-arena.js";
import { ShardActivation } from "./shard-activation.js";
import { ShardPassivation } from "./shard-passivation.js";
import { buildShardStats } from "./shard-stats.js";
import { ShardTimers } from "./shard-timers.js";
import { Batch, newShardCounters, type Msg, type PendingCall, type ShardCoreOptions, type SnapshotOut } from "./shard-types.js";
import type { TimerRec } from "./timer-heap.js";
import { TurnBuffer } from "./turn-buffer.js";

/**
 * The single-threaded actor engine: mailboxes, cooperative scheduler, turn-buffered effects,
 * supervision, passivation (idle + LRU), timers on the Clock and snapshot cadence. The in-thread
 * host uses it directly; each worker thread runs one.
 *
 * This file keeps what runs per message (admission, scheduling, turns, effect routing,
 * supervision) in one class so the hot path stays monomorphic and free of indirection; timers
 * (shard-timers.ts), activations (shard-activation.ts), snapshots and passivation
 * (shard-passivation.ts), the turn buffers and ActorContext (turn-buffer.ts) and stats
 * (shard-stats.ts) live in their own modules.
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
  private readonly calls = new Map<number, PendingCall>();
  private readonly partHigh: number[] = [];
  /** Partitions released to another owner and not delivered here since (see releasePartition). */
  private readonly handedOff = new Set<number>();
  private readonly timers: ShardTimers;
  private readonly pv: ShardPassivation;
  private readonly activation: ShardActivation;
  private readonly turn: TurnBuffer;
  private bg = new EffectsAcc();
  private tickHandle: TimerHandle | null = null;
  private draining = false;
  private drainScheduled = false;
  private closed = false;
  private nextCall = 0;
  private maxActive: number;
  private idleMs: number;
  private now = 0;
  private turnNo = 0;
  readonly latency = new LatencyHistogram();
  readonly activationLatency = new LatencyHistogram();
  readonly counters = newShardCounters();

  private configVersion = "";

  constructor(private readonly o: ShardCoreOptions) {
    for (const l of o.logics) this.logics.set(l.type, l);
    this.arena = new MailboxArena<Batch>(o.queueCapacity);
    this.maxActive = o.maxActiveActors;
    this.idleMs = o.passivateAfterMs;
    this.turn = new TurnBuffer(o.clock);
    this.timers = new ShardTimers(o.clock, (rec) => this.fireTimer(rec), () => this.pump(), o.backoffBaseMs);
    this.pv = new ShardPassivation(this.cells, this.lru, this.timers, this.handedOff, this.counters);
    this.activation = new ShardActivation({
      clock: o.clock,
      load: o.load,
      retryMs: o.backoffBaseMs,
      counters: this.counters,
      latency: this.activationLatency,
      passivation: this.pv,
      runq: this.runq,
      onLoaded: () => this.pump(),
    });
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

  /**
   * Live configuration: `logic.configure(settings)` (throws, changing nothing, when invalid), then
   * every active actor of the type gets `{ type: "config", settings, version }`.
   */
  configure(actorType: string, settings: unknown, version: string, done: (acc: EffectsAcc) => void): void {
    const logic = this.logics.get(actorType);
    if (logic === undefined) throw new RangeError(`no actor logic of type "${actorType}" is hosted`);
    logic.configure?.(settings);
    // Reported once every active actor of the type has taken its `config` message.
    this.broadcast({ type: "config", settings, version } as Msg, actorType, (acc) => {
      this.configVersion = version;
      done(acc);
    });
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
    return { effects, snapshots: this.pv.take() };
  }

  /** Replay floor per partition: the lowest journal seq not covered by a taken snapshot. */
  lowWater(): [number, number][] {
    return this.pv.lowWater(this.partHigh);
  }

  /** Change limits live; an over-full worker passivates down to the new cap. */
  setLimits(l: HostLimits): void {
    if (l.maxActiveActors !== undefined) this.maxActive = l.maxActiveActors;
    if (l.passivateAfterMs !== undefined) this.idleMs = l.passivateAfterMs;
    this.pv.evict(this.maxActive);
    this.flushBackground();
  }

  /** Free mailbox slots (messages this shard can still accept). */
  credit(): number {
    return Math.max(0, this.arena.free - this.parkedMessages());
  }

  /** Messages admitted or parked and not yet finished. */
  get inFlight(): number {
    return this.arena.size + this.parkedMessages();
  }

  /** Snapshot every dirty active actor (used before close / handoff). */
  snapshotAll(): void {
    this.pv.snapshotAll();
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
        this.pv.passivate(c);
        this.counters.passivations--;
      }
    }
    this.partHigh[partition] = high;
    this.finishCompleted();
  }

  /**
   * Hand `partition` off to another owner: drop its actors like {@link dropPartition}, and also
   * cancel their timers and forget their outstanding calls (a late reply counts as lost, as after a
   * crash). Until a journal message of the partition is delivered here again (the partition is
   * re-acquired: replay or live), no actor of it is activated or snapshotted here: a timer or reply
   * turn on this node would restore a snapshot, and its snapshot would later overwrite (or, still
   * pending, be served instead of) the newer state the new owner wrote. Sends to its actors are
   * dead-lettered (`partition_handed_off`). Call with the partition's snapshots already taken.
   */
  releasePartition(partition: number, high: number): void {
    this.dropPartition(partition, high);
    this.handedOff.add(partition);
    this.timers.dropPartition(partition, this.o.partitionOf);
    for (const [callId, pc] of this.calls) if (this.o.partitionOf(pc.actorType, pc.actorId) === partition) this.calls.delete(callId);
  }

  /** Stop timers; pending batches never finish after this. */
  close(): void {
    this.closed = true;
    this.timers.close();
    if (this.tickHandle !== null) this.o.clock.clearTimeout(this.tickHandle);
    this.tickHandle = null;
  }

  /** Live counters. */
  stats(): WorkerStats {
    return buildShardStats({
      worker: this.o.worker,
      cells: this.cells,
      partHigh: this.partHigh,
      mailboxDepth: this.arena.size,
      inFlight: this.inFlight,
      counters: this.counters,
      configVersion: this.configVersion,
      latency: this.latency,
    });
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

  /** Maintenance: idle passivation and time-based snapshots. */
  tick(): void {
    this.pv.sweep(this.o.clock.now(), this.idleMs, this.o.snapshotEveryMs);
    this.flushBackground();
  }

  private armTick(): void {
    const every = Math.max(10, Math.min(1000, Math.floor(Math.min(this.o.snapshotEveryMs, this.idleMs) / 2)));
    this.tickHandle = this.o.clock.setTimeout(() => {
      this.tickHandle = null;
      if (this.closed) return;
      this.tick();
      this.armTick();
    }, every);
  }

  private parkedMessages(): number {
    let n = 0;
    for (const b of this.parked) n += b.cols.ids.length - b.cursor;
    return n;
  }

  // ---- admission --------------------------------------------------------------------------------

  private pump(): void {
    while (this.parked.length > 0) {
      const b = this.parked[0]!;
      if (!this.admit(b)) break;
      this.parked.shift();
    }
    if (this.activation.toLoad.length > 0) this.activation.start();
    this.finishCompleted();
    this.kick();
  }

  private admit(b: Batch): boolean {
    const { types, ids, parts, seqs, msgs } = b.cols;
    const n = ids.length;
    const cap = this.o.mailboxCapacity;
    for (let i = b.cursor; i < n; i++) {
      // A journal message of a handed-off partition: it is ours again (recovery replay or live).
      if (this.handedOff.size > 0 && seqs[i]! > 0) this.handedOff.delete(parts[i]!);
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
      const timers = this.timers.unpark(type, id);
      if (timers !== undefined) c.timers = timers;
      this.activation.toLoad.push(c);
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

  /** A due timer (ShardTimers): false = no mailbox room now, try again later. */
  private fireTimer(rec: TimerRec): boolean {
    const part = this.o.partitionOf(rec.actorType, rec.actorId);
    const cell = this.cellFor(rec.actorType, rec.actorId, part);
    if (cell === null) return true;
    if (this.arena.free === 0) return false;
    rec.due = -1;
    this.enqueue(cell, rec.msg, 0, null);
    return true;
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
      if (cell.sinceSnap >= this.o.snapshotEveryMessages) this.pv.snapshot(cell);
      if (cell.depth > 0 && !cell.backoff && !cell.queued) {
        cell.queued = true;
        this.runq.push(cell);
      }
    }
    this.draining = false;
    // Admission may have been blocked on full mailboxes that just drained.
    while (this.parked.length > 0 && this.admit(this.parked[0]!)) this.parked.shift();
    if (this.activation.toLoad.length > 0) this.activation.start();
    if (this.lru.size > this.maxActive) this.pv.evict(this.maxActive);
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
    if (!this.bg.empty || this.pv.snaps.length > 0) this.o.onBackground();
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
    const turn = this.turn;
    turn.cur = cell;
    const sample = (++this.turnNo & 63) === 0;
    const t0 = sample ? performance.now() : 0;
    let next: unknown;
    try {
      next = cell.logic.receive(cell.state, msg, turn.ctx);
    } catch (err) {
      turn.cur = null;
      turn.reset();
      this.onFailure(cell, msg, seq, b, err);
      return;
    }
    if (sample) this.latency.record((performance.now() - t0) * 1000);
    turn.cur = null;
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
      this.pv.dirtyCells.push(cell);
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

  private commitTurn(cell: ActorCell, b: Batch | null): void {
    const t = this.turn;
    const names = t.timerNames;
    for (let i = 0; i < names.length; i++) this.timers.apply(cell, names[i]!, t.timerDelays[i]!, t.timerMsgs[i]);
    // A replayed turn rebuilds state only: its effects were committed before the crash.
    if (b === null || !b.replay) {
      const acc = b === null ? this.bg : b.acc;
      t.commitRowsAndEvents(acc);
      const calls = t.calls;
      for (let i = 0; i < calls.length; i++) {
        const c = calls[i]!;
        const callId = this.nextCall++ * this.o.callIdStride + this.o.callIdOffset;
        this.calls.set(callId, { actorType: cell.logic.type, actorId: cell.id, onReply: c.onReply, onError: c.onError });
        const out: OutCall = { from: cell.self, service: c.service, method: c.method, req: c.req, callId };
        acc.calls.push(out);
      }
      const sends = t.sends;
      for (let i = 0; i < sends.length; i += 2) this.routeSend(sends[i] as ActorAddress, sends[i + 1] as Msg, b, acc);
    }
    t.reset();
  }

  private routeSend(to: ActorAddress, msg: Msg, b: Batch | null, acc: EffectsAcc): void {
    if (this.o.isLocal !== undefined && !this.o.isLocal(to.type, to.id)) {
      acc.sends.push({ to, msg });
      return;
    }
    const part = this.o.partitionOf(to.type, to.id);
    const env = (): Envelope => ({ actorType: to.type, actorId: to.id, partition: part, streamSeq: 0, msg });
    if (this.handedOff.has(part)) return this.deadLetter(acc, env(), new Error(`partition ${part} is owned by another node`), "partition_handed_off");
    const target = this.cellFor(to.type, to.id, part);
    if (target === null) return this.deadLetter(acc, env(), new Error(`unknown actor type "${to.type}"`), "unknown_actor_type");
    // Sends may exceed the per-actor cap (a turn cannot block) but never the worker's arena.
    if (this.arena.free === 0) return this.deadLetter(acc, env(), new Error("worker mailbox arena full"), "mailbox_full");
    this.enqueue(target, msg, 0, b);
    if (b !== null) b.remaining++;
  }

  // ---- supervision ------------------------------------------------------------------------------

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
}
