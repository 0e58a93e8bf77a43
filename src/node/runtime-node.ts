import type { BatchEffects, RuntimeHost } from "../ports/actor-host.js";
import type { ActorCacheCalls, ActorCallService } from "../ports/actor-services.js";
import type { Tracing } from "../ports/tracing.js";
import type { Clock, TimerHandle } from "../ports/clock.js";
import type { EventPublisher, PartitionConsumers } from "../ports/journal.js";
import type { Log } from "../ports/log.js";
import type { RowSink } from "../ports/row-sink.js";
import type { SnapshotStore } from "../ports/snapshot-store.js";
import type { StageObserver } from "../ports/stages.js";
import { forEachBounded, SharedBudget } from "../base/concurrency.js";
import { CallRouter } from "./call-router.js";
import { PartitionPump, type PumpStats } from "./partition-pump.js";
import { TimerCheckpoints } from "./timer-checkpoints.js";
import { sleep } from "../base/clock.js";
import { backoffMs } from "../base/backoff.js";
import { describeError } from "../base/errors.js";

/** Counters of a runtime node. */
export type RuntimeNodeStats = PumpStats & { rowsWritten: number; activeActors: number; ownedPartitions: number };

/** Settings of a runtime node. */
export interface RuntimeNodeOptions {
  /** Partition count of the journal. */
  readonly partitions: number;
  /** Most messages per pull. */
  readonly fetchBatch: number;
  /** Most unacknowledged messages per partition consumer (pulls stop at this many in flight). */
  readonly maxAckPending: number;
  /** Journal bytes in flight (delivered, not durable+acked) across all partitions; pulls pause above. Default: no bound. */
  readonly maxInFlightBytes?: number;
  /** Partitions recovered at once at start. */
  readonly recoveryConcurrency: number;
  /** How often the pending timers of owned partitions are kept in the store, ms. */
  readonly timerCheckpointEveryMs: number;
  /** Longest a handoff waits for the outstanding calls of the partition's actors, ms. */
  readonly handoffCallWaitMs: number;
}

/** What a runtime node works with: ports only (adapters are chosen by the role that wires it). */
export interface RuntimeNodePorts {
  readonly host: RuntimeHost;
  readonly consumers: PartitionConsumers;
  readonly sink: RowSink;
  readonly events: EventPublisher;
  readonly snapshots: SnapshotStore;
  /** Service "gateway" (model gateway calls). */
  readonly gateway: ActorCallService;
  /** Service "cache" (per-actor cache). */
  readonly actorCache: ActorCacheCalls;
  readonly clock: Clock;
  readonly log: Log;
  /** Rows the sink made durable so far (for the counters). */
  readonly rowsWritten?: () => number;
  /** Where readings wait (stages `pulled`, `applied`, `durable`). */
  readonly stages?: StageObserver;
  /** Where the spans of traced turns, their calls and inserts go. Default: off. */
  readonly tracing?: Tracing;
}

/**
 * Effects of turns that no pulled batch caused (timers, replies) can come from the host as soon as
 * it exists, before the node that commits them: held here until `attach`.
 */
export class BackgroundEffects {
  private early: BatchEffects[] = [];
  private node: RuntimeNode | undefined;
  readonly commit = (fx: BatchEffects): void => {
    if (this.node === undefined) this.early.push(fx);
    else this.node.commitEffects(fx);
  };
  attach(node: RuntimeNode): void {
    this.node = node;
    for (const fx of this.early.splice(0)) node.commitEffects(fx);
  }
}

/**
 * One runtime node: owns partitions of the journal and moves each through the actor host
 * (pull → turns → rows durable → ack), recovers a partition's actors when it takes the partition
 * (snapshots, a state-only replay, timers handed over), hands partitions off, routes the actors'
 * calls and keeps the partitions' timers in the store. Depends on ports only; `src/cli/roles`
 * wires it to NATS, ClickHouse, the model gateway and the cache.
 */
export class RuntimeNode {
  private readonly pumps = new Map<number, PartitionPump>();
  private readonly retired: PumpStats = { pulled: 0, acked: 0, deadLettered: 0, naks: 0, batches: 0 };
  private readonly calls: CallRouter;
  private readonly checkpoints: TimerCheckpoints;
  private active = 0;
  private introspectTimer: TimerHandle | undefined;
  private closed = false;
  private readonly budget: SharedBudget | undefined;

  constructor(
    private readonly p: RuntimeNodePorts,
    private readonly o: RuntimeNodeOptions,
  ) {
    this.budget = o.maxInFlightBytes === undefined ? undefined : new SharedBudget(o.maxInFlightBytes);
    this.calls = new CallRouter({ host: p.host, caller: p.gateway, actorCache: p.actorCache, events: p.events, sink: p.sink, partitions: o.partitions, log: p.log, ...(p.tracing ? { tracing: p.tracing } : {}) });
    this.checkpoints = new TimerCheckpoints(
      {
        pendingTimers: (q) => p.host.pendingTimers(q),
        putTimers: (q, timers, at) => this.putTimers(q, timers, at),
        owned: () => [...this.pumps.keys()],
        clock: p.clock,
        onError: (q, err) => p.log.warn({ partition: q, err: err.message }, "timer checkpoint failed; the next one retries"),
      },
      o.timerCheckpointEveryMs,
    );
  }

  /**
   * Take `partitions` (concurrently, `recoveryConcurrency` at a time; one whose recovery fails —
   * journal or store unavailable — is retried with backoff instead of failing the start), then
   * start keeping timers.
   */
  async start(partitions: readonly number[]): Promise<void> {
    this.refreshActive();
    await forEachBounded(partitions, this.o.recoveryConcurrency, async (q) => {
      for (let attempt = 0; !this.closed; attempt++) {
        try {
          return await this.acquire(q);
        } catch (e) {
          const delayMs = backoffMs(attempt, 250, 5000);
          this.p.log.warn({ partition: q, attempt: attempt + 1, delayMs, err: describeError(e) }, "partition not taken; retrying");
          await sleep(delayMs, this.p.clock);
        }
      }
    });
    this.checkpoints.start();
  }

  /** Highest stream sequence partition `q`'s consumer has received here (undefined: not owned, or unknown). */
  receivedSeq(q: number): number | undefined {
    return this.pumps.get(q)?.receivedSeq();
  }

  /** Deliveries partition `q`'s consumer made that never arrived here (undefined: not owned, or unknown). */
  skippedDeliveries(q: number): number | undefined {
    return this.pumps.get(q)?.skippedDeliveries();
  }

  /** Messages of partition `q` acknowledged here by its current pump (undefined: not owned). */
  ackedMessages(q: number): number | undefined {
    return this.pumps.get(q)?.stats.acked;
  }

  /** Partitions this node pulls. */
  owned(): number[] {
    return [...this.pumps.keys()].sort((a, b) => a - b);
  }

  /**
   * Start pulling partition `q` (after its lease was acquired): rebuild its actors from snapshots and
   * a state-only replay up to what its consumer acknowledged, take back what a dead owner held,
   * arm the timers the previous owner handed over. Idempotent.
   */
  async acquire(q: number): Promise<void> {
    if (this.pumps.has(q)) return;
    if (!Number.isInteger(q) || q < 0 || q >= this.o.partitions) throw new RangeError(`partition ${q} is not in [0, ${this.o.partitions})`);
    const { host, consumers, log, clock } = this.p;
    const t0 = clock.now();
    const pos = await consumers.position(q);
    const tPosition = clock.now();
    if (pos.ackPending > 0) {
      // A previous owner died holding unacked messages: take them back now, in order.
      await consumers.rewind(q, pos.ackFloor);
      log.info({ partition: q, unacked: pos.ackPending, ackFloor: pos.ackFloor }, "partition consumer rewound to its ack floor");
    }
    const tRewound = clock.now();
    await host.recover(q, pos.ackFloor);
    const tRecovered = clock.now();
    // Timers the previous owner handed over, or kept by its last timer checkpoint if it crashed
    // (a device silent since still goes offline); time since they were read taken off. They stay
    // in the store until this node's first checkpoint of the partition replaces them.
    const timers = (await this.p.snapshots.readTimers?.(q, this.p.clock.now())) ?? [];
    if (timers.length > 0) {
      await host.restoreTimers(q, timers);
      log.info({ partition: q, timers: timers.length }, "timers kept by the previous owner armed");
    }
    const tTimers = clock.now();
    const source = await consumers.open(q, Math.min(this.o.fetchBatch, this.o.maxAckPending));
    const pump = new PartitionPump(
      source,
      host,
      this.p.sink,
      this.p.events,
      { fetchBatch: this.o.fetchBatch, fetchExpiresMs: 1000, maxBatchesInFlight: Math.max(2, Math.floor(this.o.maxAckPending / this.o.fetchBatch)), ...(this.budget ? { budget: this.budget } : {}) },
      {
        onError: (err) => log.warn({ partition: q, err: describeError(err) }, "partition pump error"),
        onCommitted: (partition, streamSeq) => host.committed(partition, streamSeq),
        onCalls: (c) => this.calls.dispatch(c),
        now: () => this.p.clock.now(),
        ...(this.p.stages ? { stages: this.p.stages } : {}),
        ...(this.p.tracing ? { tracing: this.p.tracing } : {}),
      },
    );
    this.pumps.set(q, pump);
    pump.start();
    const tOpen = clock.now();
    // Where a start's time goes (phases of taking one partition).
    log.debug({ partition: q, tookMs: tOpen - t0, positionMs: tPosition - t0, rewindMs: tRewound - tPosition, recoverMs: tRecovered - tRewound, timersMs: tTimers - tRecovered, openMs: tOpen - tTimers }, "partition taken");
  }

  /**
   * Hand partition `q` off gracefully: stop pulling, wait until every delivered batch is durable and
   * acked and the replies to its actors' calls are in (bounded), write its snapshots and checkpoint,
   * forget its actors and leave their timers in the store for the next owner.
   */
  async release(q: number): Promise<void> {
    const pump = this.pumps.get(q);
    if (pump === undefined) return;
    this.pumps.delete(q);
    await this.checkpoints.quiesce(q);
    await pump.stop();
    for (const k of Object.keys(this.retired) as Array<keyof PumpStats>) this.retired[k] += pump.stats[k];
    // Replies to the partition's calls (model gateway, cache) come back as messages to its actors:
    // let them arrive before the actors are forgotten (bounded, so a slow LLM cannot stall a
    // rebalance or a shutdown).
    const unanswered = await this.calls.drained(q, this.o.handoffCallWaitMs);
    if (unanswered > 0) this.p.log.warn({ partition: q, unanswered }, "handing off with calls unanswered; their replies will be dropped and counted");
    const releasedAt = this.p.clock.now();
    const timers = await this.p.host.releasePartition(q);
    await this.putTimers(q, timers, releasedAt).catch((e: Error) => this.p.log.warn({ partition: q, timers: timers.length, err: e.message }, "timers of a released partition not handed over"));
  }

  /**
   * Restart partitions after the journal lost state (the journal watchdog saw a stream or consumer
   * missing or its sequence go back): hand each partition off to this node itself (pump stopped,
   * delivered batches settled, snapshots and timers written, and — what matters after a reset —
   * the host's stream-sequence bookkeeping of the partition forgotten, so new messages numbered
   * from 1 are neither replayed as old nor let a snapshot out early), re-create its consumer after
   * `after` (0: from the start), and take it again, retrying until taken or closed. `streamReset`:
   * the stream's sequences started again, so the partition's replay checkpoint goes back to 1.
   */
  async restartPartitions(resets: ReadonlyMap<number, number>, streamReset: boolean): Promise<void> {
    await forEachBounded([...resets], this.o.recoveryConcurrency, async ([q, after]) => {
      if (!this.pumps.has(q)) return;
      const t0 = this.p.clock.now();
      await this.release(q);
      this.p.log.debug({ partition: q, tookMs: this.p.clock.now() - t0 }, "partition released for a restart on the journal");
      for (let attempt = 0; !this.closed; attempt++) {
        try {
          await this.p.consumers.rewind(q, after);
          if (streamReset) await this.p.snapshots.putCheckpoint(q, 1);
          await this.acquire(q);
          this.p.log.info({ partition: q, resumeAfter: after, streamReset }, "partition restarted on the journal after a loss");
          return;
        } catch (e) {
          const delayMs = backoffMs(attempt, 250, 5000);
          this.p.log.warn({ partition: q, attempt: attempt + 1, delayMs, err: describeError(e) }, "partition not restarted after a journal loss; retrying");
          await sleep(delayMs, this.p.clock);
        }
      }
    });
  }

  /** Commit effects of turns no pulled batch caused (timers, replies, configuration). */
  commitEffects(fx: BatchEffects): void {
    this.calls.commit(fx);
  }

  stats(): RuntimeNodeStats {
    const c = this.calls.stats;
    const s: RuntimeNodeStats = {
      ...this.retired,
      deadLettered: this.retired.deadLettered + c.deadLettered + c.rowsDeadLettered,
      rowsWritten: this.p.rowsWritten?.() ?? 0,
      activeActors: this.active,
      ownedPartitions: this.pumps.size,
    };
    for (const pump of this.pumps.values()) {
      s.pulled += pump.stats.pulled;
      s.acked += pump.stats.acked;
      s.deadLettered += pump.stats.deadLettered;
      s.naks += pump.stats.naks;
      s.batches += pump.stats.batches;
    }
    return s;
  }

  /** Release every partition (handoff to whoever takes them next) and stop. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.introspectTimer !== undefined) this.p.clock.clearTimeout(this.introspectTimer);
    await this.checkpoints.stop();
    await Promise.all([...this.pumps.keys()].map((q) => this.release(q)));
  }

  private putTimers(q: number, timers: Parameters<NonNullable<SnapshotStore["putTimers"]>>[1], at: number): Promise<void> {
    return this.p.snapshots.putTimers?.(q, timers, at) ?? Promise.resolve();
  }

  /** Active actors for the counters (introspection is async: refreshed every second). */
  private refreshActive(): void {
    if (this.closed) return;
    this.p.host.introspect().then(
      (i) => (this.active = i.workers.reduce((a, w) => a + Object.values(w.activeByType).reduce((x, y) => x + y, 0), 0)),
      () => {},
    );
    this.introspectTimer = this.p.clock.setTimeout(() => this.refreshActive(), 1000);
  }
}
