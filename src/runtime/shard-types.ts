import type { Clock } from "../ports/clock.js";
import type { ActorSnapshot, SnapshotKey } from "../ports/snapshot-store.js";
import type { AnyLogic } from "./actor-cell.js";
import { EffectsAcc, type Columns } from "./effects.js";

/** A message as the shard sees it: any object tagged by `type`. */
export type Msg = { readonly type: string };

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
  /** Record the turns of messages carrying `trace` as spans (docs/adr/0023-tracing.md). Default false. */
  readonly traceTurns?: boolean;
  /** Also start a trace for a turn that calls `ctx.keepTrace()` without one. Default false. */
  readonly traceKeptTurns?: boolean;
}

/** A batch being admitted/processed. */
export class Batch {
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

/** An outstanding `ctx.call`: whose continuation runs when the reply comes back. */
export interface PendingCall {
  readonly actorType: string;
  readonly actorId: string;
  readonly onReply: (res: unknown) => Msg;
  readonly onError: (err: Error) => Msg;
  /** The calling turn's span: the reply's turn continues it. */
  readonly trace?: string;
}

/** Live counters of a shard (monotonic since start, except `passivations` after a partition drop). */
export interface ShardCounters {
  turns: number;
  activations: number;
  passivations: number;
  restarts: number;
  deadLetters: number;
  snapshots: number;
  skipped: number;
  lostReplies: number;
  loadFailures: number;
}

/** All counters at zero. */
export function newShardCounters(): ShardCounters {
  return { turns: 0, activations: 0, passivations: 0, restarts: 0, deadLetters: 0, snapshots: 0, skipped: 0, lostReplies: 0, loadFailures: 0 };
}
