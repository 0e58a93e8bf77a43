import type { CallResult, Envelope, HostLimits, PartitionTimer, WorkerStats } from "../ports/actor-host.js";
import type { TimerHandle } from "../ports/clock.js";
import { EffectsAcc } from "./effects.js";
import { ShardEngine } from "./shard-engine.js";
import { buildShardStats } from "./shard-stats.js";
import type { Msg, ShardCoreOptions, SnapshotOut } from "./shard-types.js";

/**
 * The single-threaded actor engine: mailboxes, cooperative scheduler, turn-buffered effects,
 * supervision, passivation (idle + LRU), timers on the Clock and snapshot cadence. The in-thread
 * host uses it directly; each worker thread runs one.
 *
 * The per-message path (admission, scheduling, turns, effect routing, supervision) is the base
 * class ShardEngine (shard-engine.ts); this class adds what the hosts call: broadcast, live
 * configuration, call replies, the partition lifecycle (drop, release), limits, stats and the
 * maintenance tick.
 */
export class ShardCore extends ShardEngine {
  private tickHandle: TimerHandle | null = null;
  private closed = false;
  private configVersion = "";

  constructor(o: ShardCoreOptions) {
    super(o);
    this.armTick();
  }

  // ---- public surface -------------------------------------------------------------------------

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
      // The reply's turn continues the calling turn's trace (ADR 0023).
      if (pc.trace !== undefined) msg = { ...msg, trace: pc.trace } as Msg;
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
  releasePartition(partition: number, high: number): PartitionTimer[] {
    const timers = this.timers.pendingOf(partition, this.cells, this.o.clock.now());
    this.dropPartition(partition, high);
    this.handedOff.add(partition);
    this.timers.dropPartition(partition);
    for (const [callId, pc] of this.calls) if (this.o.partitionOf(pc.actorType, pc.actorId) === partition) this.calls.delete(callId);
    return timers;
  }

  /** Pending timers of `partition` now (see RuntimeHost.pendingTimers). */
  pendingTimers(partition: number): PartitionTimer[] {
    return this.timers.pendingOf(partition, this.cells, this.o.clock.now());
  }

  /** Arm timers of `partition` handed over by its previous owner (see RuntimeHost.restoreTimers). */
  restoreTimers(partition: number, timers: readonly PartitionTimer[]): void {
    this.handedOff.delete(partition); // owned here now
    this.timers.restore(partition, timers, this.cells, this.o.clock.now());
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
      logics: this.logics,
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

}
