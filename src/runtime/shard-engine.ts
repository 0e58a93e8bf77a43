import type { ActorAddress } from "../ports/actor.js";
import type { Envelope, OutCall } from "../ports/actor-host.js";
import { ActorCell, CellQueue, LruList, type AnyLogic } from "./actor-cell.js";
import { DLQ_STAGE, EffectsAcc, type Columns } from "./effects.js";
import { LatencyHistogram } from "./latency.js";
import { MailboxArena } from "./mailbox-arena.js";
import { ShardActivation } from "./shard-activation.js";
import { ShardPassivation } from "./shard-passivation.js";
import { ShardTimers } from "./shard-timers.js";
import { Batch, newShardCounters, type Msg, type PendingCall, type ShardCoreOptions } from "./shard-types.js";
import type { TimerRec } from "./timer-heap.js";
import { TurnBuffer } from "./turn-buffer.js";
import { backoffMs } from "../base/backoff.js";
import { preciseNowMs } from "../base/clock.js";
import type { TracedMessage } from "../ports/actor.js";
import { turnSpan } from "./turn-trace.js";


/**
 * The per-message part of a shard (ADR 0006): admission into bounded mailboxes, the cooperative
 * scheduler, turns with buffered effects, routing of sends and calls, supervision. Kept in one
 * class so the hot path stays monomorphic and free of indirection; {@link ShardCore} adds the
 * host-facing operations (broadcast, configure, replies, partition lifecycle, limits, stats,
 * maintenance). Timers, activations, passivation/snapshots, turn buffers and stats live in their
 * own modules.
 */
export abstract class ShardEngine {
  protected readonly logics = new Map<string, AnyLogic>();
  protected readonly cells = new Map<string, Map<string, ActorCell>>();
  protected readonly lru = new LruList();
  protected readonly runq = new CellQueue();
  protected readonly arena: MailboxArena<Batch>;
  protected readonly parked: Batch[] = [];
  protected readonly completed: Batch[] = [];
  protected readonly order: Batch[] = [];
  protected readonly calls = new Map<number, PendingCall>();
  protected readonly partHigh: number[] = [];
  /** Partitions released to another owner and not delivered here since (see releasePartition). */
  protected readonly handedOff = new Set<number>();
  protected readonly timers: ShardTimers;
  protected readonly pv: ShardPassivation;
  protected readonly activation: ShardActivation;
  protected readonly turn: TurnBuffer;
  protected bg = new EffectsAcc();
  protected draining = false;
  protected drainScheduled = false;
  protected nextCall = 0;
  protected maxActive: number;
  protected idleMs: number;
  protected now = 0;
  protected turnNo = 0;
  readonly latency = new LatencyHistogram();
  readonly activationLatency = new LatencyHistogram();
  readonly counters = newShardCounters();


  constructor(protected readonly o: ShardCoreOptions) {
    for (const l of o.logics) this.logics.set(l.type, l);
    this.arena = new MailboxArena<Batch>(o.queueCapacity);
    this.maxActive = o.maxActiveActors;
    this.idleMs = o.passivateAfterMs;
    this.turn = new TurnBuffer();
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
  }

  /** Submit a batch (in order per actor); `done` gets its effects once every message finished. */
  submit(cols: Columns, replay: boolean, done: (acc: EffectsAcc) => void): void {
    const b = new Batch(cols, replay, done);
    this.parked.push(b);
    this.order.push(b);
    this.pump();
  }

  protected parkedMessages(): number {
    let n = 0;
    for (const b of this.parked) n += b.cols.ids.length - b.cursor;
    return n;
  }

  // ---- admission --------------------------------------------------------------------------------

  protected pump(): void {
    while (this.parked.length > 0) {
      const b = this.parked[0]!;
      if (!this.admit(b)) break;
      this.parked.shift();
    }
    if (this.activation.toLoad.length > 0) this.activation.start();
    this.finishCompleted();
    this.kick();
  }

  protected admit(b: Batch): boolean {
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

  protected cellFor(type: string, id: string, partition: number): ActorCell | null {
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
      const timers = this.timers.unpark(partition, type, id);
      if (timers !== undefined) c.timers = timers;
      this.activation.toLoad.push(c);
    }
    return c;
  }

  protected enqueue(cell: ActorCell, msg: unknown, seq: number, b: Batch | null): void {
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
  protected fireTimer(rec: TimerRec): boolean {
    const part = this.o.partitionOf(rec.actorType, rec.actorId);
    const cell = this.cellFor(rec.actorType, rec.actorId, part);
    if (cell === null) return true;
    if (this.arena.free === 0) return false;
    rec.due = -1;
    this.enqueue(cell, rec.msg, 0, null);
    return true;
  }

  // ---- scheduling -------------------------------------------------------------------------------

  protected kick(): void {
    if (this.draining || this.drainScheduled || this.runq.length === 0) return;
    this.drain();
  }

  protected drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.now = this.o.clock.now();
    this.turn.sliceNow = this.now;
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
  protected finishCompleted(): void {
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

  protected flushBackground(): void {
    if (!this.bg.empty || this.pv.snaps.length > 0) this.o.onBackground();
  }

  // ---- turns ------------------------------------------------------------------------------------

  protected runTurn(cell: ActorCell): void {
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
    // Tracing (ADR 0023): a message carrying `trace` is timed; otherwise nothing is read or measured.
    const tp = this.o.traceTurns === true ? (msg as TracedMessage).trace : undefined;
    const tw0 = tp !== undefined ? preciseNowMs() : 0;
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
    if ((tp !== undefined || (turn.keep && this.o.traceKeptTurns === true)) && (b === null || !b.replay)) this.traceTurn(cell, msg, tp, tw0, b);
    this.commitTurn(cell, b);
    cell.attempts = 0;
    this.counters.turns++;
    this.applied(cell, seq);
    this.pop(cell, b);
  }

  protected applied(cell: ActorCell, seq: number): void {
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

  protected pop(cell: ActorCell, b: Batch | null): void {
    const idx = cell.head;
    cell.head = this.arena.next[idx]!;
    if (cell.head < 0) cell.tail = -1;
    cell.depth--;
    this.arena.release(idx);
    if (b !== null && --b.remaining === 0 && b.admitted) this.completed.push(b);
  }

  protected commitTurn(cell: ActorCell, b: Batch | null): void {
    const t = this.turn;
    const names = t.timerNames;
    // From the slice's start time (read once per slice, not once per heartbeat re-arm).
    for (let i = 0, n = t.timerN; i < n; i++) this.timers.apply(cell, names[i]!, t.timerDelays[i]!, t.timerMsgs[i], this.now);
    // A replayed turn rebuilds state only: its effects were committed before the crash.
    if (b === null || !b.replay) {
      const acc = b === null ? this.bg : b.acc;
      t.commitRowsAndEvents(acc);
      const calls = t.calls;
      for (let i = 0; i < calls.length; i++) {
        const c = calls[i]!;
        const callId = this.nextCall++ * this.o.callIdStride + this.o.callIdOffset;
        const trace = t.span;
        this.calls.set(callId, trace === undefined ? { actorType: cell.logic.type, actorId: cell.id, onReply: c.onReply, onError: c.onError } : { actorType: cell.logic.type, actorId: cell.id, onReply: c.onReply, onError: c.onError, trace });
        const out: OutCall = trace === undefined ? { from: cell.self, service: c.service, method: c.method, req: c.req, callId } : { from: cell.self, service: c.service, method: c.method, req: c.req, callId, trace };
        acc.calls.push(out);
      }
      const sends = t.sends;
      for (let i = 0; i < sends.length; i += 2) this.routeSend(sends[i] as ActorAddress, sends[i + 1] as Msg, b, acc);
    }
    t.reset();
  }

  /**
   * Record the turn just run as a span (its message's `trace` is the parent; a kept turn without
   * one starts a trace, timed from its end: its start was not measured). Its calls continue it.
   */
  protected traceTurn(cell: ActorCell, msg: Msg, tp: string | undefined, startMs: number, b: Batch | null): void {
    const end = preciseNowMs();
    const kept = this.turn.keep && this.o.traceKeptTurns === true;
    const span = turnSpan(tp, kept, cell.logic.type, cell.id, cell.partition, msg.type, tp !== undefined ? startMs : end, end);
    if (span === undefined) return;
    this.turn.span = span.traceparent;
    (b === null ? this.bg : b.acc).spans.push(span);
  }

  protected routeSend(to: ActorAddress, msg: Msg, b: Batch | null, acc: EffectsAcc): void {
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

  protected onFailure(cell: ActorCell, msg: Msg, seq: number, b: Batch | null, err: unknown): void {
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
    const delay = backoffMs(cell.attempts - 1, this.o.backoffBaseMs, this.o.backoffMaxMs);
    this.o.clock.setTimeout(() => {
      cell.backoff = false;
      if (cell.depth > 0 && !cell.queued) {
        cell.queued = true;
        this.runq.push(cell);
      }
      this.kick();
    }, delay);
  }

  protected deadLetter(acc: EffectsAcc, envelope: Envelope, err: unknown, code = "handler_failed"): void {
    this.counters.deadLetters++;
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    acc.deadLetters.push({ stage: DLQ_STAGE, code, reason, envelope });
  }
}
