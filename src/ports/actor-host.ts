import type { RowBatch } from "./row-sink.js";
import type { SpanRecord } from "./tracing.js";

/** One message for one actor, as it came off the journal. */
export interface Envelope {
  /** Actor type, e.g. "device". */
  readonly actorType: string;
  /** Actor id, e.g. the device id. */
  readonly actorId: string;
  /** Partition the actor lives in (fnv1a32(id) % P). */
  readonly partition: number;
  /** JetStream stream sequence of the journal message (0 when the message is not from the journal). */
  readonly streamSeq: number;
  /** The message, tagged by `type`. */
  readonly msg: { readonly type: string };
}

/** An event to publish on NATS. */
export interface OutEvent {
  readonly subject: string;
  readonly data: unknown;
}

/** A message that failed and must be dead-lettered with a reason. */
export interface OutDeadLetter {
  readonly stage: string;
  readonly code: string;
  readonly reason: string;
  readonly envelope: Envelope;
}

/** A service call an actor asked for; the host routes the reply back as a message. */
export interface OutCall {
  readonly from: { readonly type: string; readonly id: string };
  readonly service: string;
  readonly method: string;
  readonly req: unknown;
  readonly callId: number;
  /** `traceparent` of the calling turn's span when it is traced: the call continues it. */
  readonly trace?: string;
}

/** A pending actor timer of a partition, as handed to the partition's next owner. */
export interface PartitionTimer {
  readonly actorType: string;
  readonly actorId: string;
  readonly name: string;
  /** Time left when it was handed over, ms. */
  readonly inMs: number;
  /** Its message (plain data). */
  readonly msg: unknown;
}

/**
 * `timers` as they stand at `nowMs`, read at `savedAtMs`: each one's time left less the time since,
 * never below 0 (an overdue timer fires at once). Unchanged when either time is unknown.
 */
export function agedTimers(timers: readonly PartitionTimer[], savedAtMs: number | undefined, nowMs: number | undefined): PartitionTimer[] {
  if (savedAtMs === undefined || nowMs === undefined) return [...timers];
  const elapsed = Math.max(0, nowMs - savedAtMs);
  return timers.map((t) => ({ ...t, inMs: Math.max(0, t.inMs - elapsed) }));
}

/** Receives the messages a journal message holds for its actors (see {@link JournalDecoder}). */
export type EnvelopeSink = (actorType: string, actorId: string, msg: { readonly type: string }) => void;

/**
 * Decodes one journal message into the messages it holds for actors, passed to `emit` in order:
 * at most one per actor (a journal message is one step of each actor's history: replay after a
 * snapshot skips it or applies it whole). The message is `data[start, end)`: worker threads pass a
 * whole packed batch's buffer with the message's bounds (no view per message), so a decoder must
 * read only within them, and must not keep `data` beyond the call. Throws on bytes that do not
 * decode; what it emitted for that message is then dropped and the message reported as corrupt.
 */
export type JournalDecoder = (data: Uint8Array, streamSeq: number, partition: number, start: number, end: number, emit: EnvelopeSink) => void;

/** One journal message as pulled: undecoded bytes and its stream sequence. */
export interface JournalBytes {
  readonly data: Uint8Array;
  readonly streamSeq: number;
}

/** A journal message the host could not decode (it is dead-lettered by the caller). */
export interface CorruptMessage {
  /** Index in the delivered batch. */
  readonly index: number;
  readonly reason: string;
}

/** Effects of a delivered journal batch, plus the messages that could not be decoded. */
export interface JournalEffects extends BatchEffects {
  readonly corrupt: readonly CorruptMessage[];
}

/** Effects of processing one delivered batch, committed by the caller (I/O happens outside the host). */
export interface BatchEffects {
  /**
   * Rows by table; the caller makes them durable before acknowledging the batch upstream. A
   * worker-thread host returns the rows of tables with a declared schema as RowBinary made in the
   * worker (an in-thread host too with `encodeRows`), other rows as objects; `RowBatch.length` is
   * the exact row count either way.
   */
  readonly rows: Map<string, RowBatch>;
  readonly events: OutEvent[];
  readonly calls: OutCall[];
  readonly deadLetters: OutDeadLetter[];
  /**
   * Spans of the batch's traced turns (absent when none was traced): the caller exports them and
   * traces the rows' insert as their child (docs/adr/0023-tracing.md).
   */
  spans?: SpanRecord[];
}

/**
 * Hosts actors and runs their turns. The node's partition pumps hand it batches (one per journal pull) and
 * commits the returned effects: rows to the sink, then ack; events to NATS; dead letters to the DLQ.
 * Implementations: in-thread (tests, small sites) and worker-thread shards (src/runtime).
 */
export interface ActorHost {
  /**
   * The one way in: undecoded journal messages of one partition, in stream order. The host decodes
   * them where the partition's actors live (a worker thread: the bytes cross threads, not object
   * graphs) and runs their turns; resolves with the batch's effects. Messages that do not decode
   * come back in `corrupt` (nothing of them is applied). Recovery replays the journal through the
   * same decoder. (Hosts also take pre-decoded envelopes, `deliver`, for tests and benchmarks of
   * actor logic; no production path uses it.)
   */
  deliverJournal(partition: number, messages: readonly JournalBytes[]): Promise<JournalEffects>;
  /**
   * Forget the in-memory state of every actor of `partition` (without snapshotting), so the next
   * message re-activates them from their last durable snapshot. Called by the ingest loop when a
   * delivered batch could not be made durable and is redelivered: the redelivery must be applied
   * again rather than skipped as a duplicate. Snapshots must therefore only cover durable effects.
   */
  resetPartition?(partition: number): Promise<void>;
  /**
   * Every journal message of `partition` up to `streamSeq` has durable effects and is acked (call
   * right after the ack, in stream order). Hosts write a snapshot only once everything it contains
   * is committed, and replay committed messages (state only) after a reset or a worker crash.
   */
  committed?(partition: number, streamSeq: number): void;
  /** Stop accepting work, finish in-flight turns, release resources. */
  close(): Promise<void>;
}

/** Result of a service call (see `OutCall`), handed back to the host by the caller. */
export type CallResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Error };

/** Per-worker live counters of a runtime host (see `RuntimeHost.introspect`). */
export interface WorkerStats {
  /** Worker index (0 for an in-thread host). */
  readonly worker: number;
  /** Partitions this worker hosts that have seen traffic. */
  readonly partitions: readonly number[];
  /** Active (in-memory) actors by actor type. */
  readonly activeByType: Readonly<Record<string, number>>;
  /** Messages waiting in mailboxes (all actors of the worker). */
  readonly mailboxDepth: number;
  /** Deepest single mailbox right now. */
  readonly maxMailboxDepth: number;
  /** Messages admitted but not yet finished (mailboxes + parked batches). */
  readonly inFlight: number;
  readonly turns: number;
  readonly activations: number;
  readonly passivations: number;
  readonly restarts: number;
  readonly deadLetters: number;
  readonly snapshots: number;
  /** Turns skipped as journal replays already applied (stream seq below the actor's). */
  readonly skipped: number;
  /** Version of the last configuration applied on this worker ("" = the initial settings). */
  readonly configVersion: string;
  /** Turn latency in microseconds, from a sample of turns. */
  readonly turnLatencyUs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Counters of the actor logics (ActorLogic.counters), by actor type. */
  readonly logicCounters: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Snapshot of a host's state for the admin service and metrics. */
export interface HostIntrospection {
  readonly workers: readonly WorkerStats[];
  /** Worker threads replaced after a crash since start. */
  readonly workerRestarts: number;
  /** Snapshots waiting for their batch to be committed or for the store. */
  readonly pendingSnapshots: number;
}

/** Limits that can be changed at run time (live config). */
export interface HostLimits {
  /** LRU cap on active actors per worker. */
  readonly maxActiveActors?: number;
  /** Idle time after which an actor is passivated, ms. */
  readonly passivateAfterMs?: number;
}

/**
 * The full runtime host contract used by the ingest loop (src/runtime implements it).
 *
 * Error contract of `deliver`: a crashed worker thread is handled inside the host (replaced, its
 * partitions rebuilt from snapshots + a state-only replay of the journal, the batches it held run
 * again), so `deliver` just takes longer. It rejects only with a `retryable` error and with none
 * of the batch kept in actor state: `HostClosedError`, `RecoveryError` (journal/store down during
 * recovery), `WorkerCrashedError` (the same batch killed `maxAttempts` workers; retryable false:
 * dead-letter it). Once it resolves, the batch is applied: make its rows durable, ack, then call
 * `committed`. If its effects cannot be made durable, nak it and call `resetPartition`.
 */
export interface RuntimeHost extends ActorHost {
  /**
   * Tell the host that every journal message of `partition` up to `streamSeq` has its effects
   * durable and is acked. Snapshots never contain un-committed messages; call in stream order.
   */
  committed(partition: number, streamSeq: number): void;
  resetPartition(partition: number): Promise<void>;
  /**
   * Hand a partition off: finish in-flight turns, write its committed snapshots and checkpoint,
   * and drop its actors without replaying (the next owner recovers them with `recover`).
   */
  releasePartition(partition: number): Promise<readonly PartitionTimer[]>;
  /**
   * Arm timers handed over by the partition's previous owner (what its `releasePartition`
   * returned), so e.g. a device silent since the handoff is still reported offline. Call after
   * `recover`; a timer its actor already re-armed meanwhile (replay) is kept as re-armed.
   */
  restoreTimers(partition: number, timers: readonly PartitionTimer[]): Promise<void>;
  /**
   * The partition's pending timers now (active and passivated actors; time left), without letting
   * go of anything: the runtime role keeps them in the store periodically, so a crash loses at most
   * the timers armed since (those of devices that reported since are re-armed by the replay).
   */
  pendingTimers(partition: number): Promise<readonly PartitionTimer[]>;
  /**
   * Rebuild the in-memory actor state of `partition` after a process (re)start, before pulling:
   * replays the journal from the partition's durable checkpoint through `ackFloor` (the durable
   * consumer's ack floor stream sequence) with effects suppressed (they were committed before).
   */
  recover(partition: number, ackFloor: number): Promise<void>;
  /** Free mailbox credit (messages) for the worker hosting `partition`: pull at most this many. */
  credit(partition: number): number;
  /** Hand back the result of an `OutCall`; the actor receives its reply message. */
  resolveCall(callId: number, result: CallResult): Promise<BatchEffects>;
  /** Deliver `msg` to every active actor (of `actorType`, if given) on every worker. */
  broadcast(msg: { readonly type: string }, actorType?: string): Promise<BatchEffects>;
  /** Change limits on every worker (live config). */
  setLimits(limits: HostLimits): Promise<void>;
  /**
   * Live configuration change for the logic `actorType` on every worker: `logic.configure(settings)`
   * (rejects, changing nothing anywhere, if it throws on the first worker), then every active actor
   * of that type receives `{ type: "config", settings, version }` as a message. Workers started
   * later (crash replacement) get the latest settings before any message.
   */
  configure(actorType: string, settings: unknown, version: string): Promise<BatchEffects>;
  /** Live counters per worker. */
  introspect(): Promise<HostIntrospection>;
}
