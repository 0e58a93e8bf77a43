import type { CorruptMessage, HostLimits, PartitionTimer, WorkerStats } from "../ports/actor-host.js";
import type { PackedJournal } from "./journal-batch.js";
import type { ActorSnapshot, SnapshotKey } from "../ports/snapshot-store.js";
import type { Columns, ShardEffects } from "./effects.js";
import type { WireError } from "./errors.js";
import type { ResolvedRuntimeOptions } from "./options.js";
import type { SnapshotOut } from "./shard-types.js";

/** Where a worker finds an actor logic: a module specifier (file URL) and its export name. */
export interface LogicSpec {
  /** Absolute module URL/specifier, e.g. `new URL("../actors/device/index.ts", import.meta.url).href`. */
  readonly module: string;
  /** Export holding the ActorLogic object (or a factory of it, see `args`). Default "default". */
  readonly export?: string;
  /**
   * When given, the export is a factory called with these (structured-clonable) arguments to build
   * the logic, e.g. `{ export: "createDeviceActor", args: [settings] }`.
   */
  readonly args?: readonly unknown[];
}

/** Where a worker finds the journal decoder (a `JournalDecoder` export, see journal-batch.ts). */
export interface DecoderSpec {
  readonly module: string;
  readonly export: string;
}

/** The latest live configuration of one actor type (sent to replacement workers at start). */
export interface LogicConfig {
  readonly actorType: string;
  readonly settings: unknown;
  readonly version: string;
}

/** workerData of a shard worker. */
export interface WorkerInit {
  readonly index: number;
  readonly workers: number;
  readonly logics: readonly LogicSpec[];
  readonly options: ResolvedRuntimeOptions;
  readonly decoder?: DecoderSpec;
  /** Configuration changes applied since start, latest per actor type. */
  readonly configs: readonly LogicConfig[];
}

/** Main → worker commands; each carries a requestId answered by exactly one reply. */
export type ToWorker =
  | { readonly t: "deliver"; readonly requestId: number; readonly cols: Columns; readonly replay: boolean }
  /** Journal batches of one or more partitions (those pulled in one event-loop turn), answered together. */
  | { readonly t: "journal"; readonly requestId: number; readonly packed: readonly PackedJournal[] }
  | { readonly t: "configure"; readonly requestId: number; readonly config: LogicConfig }
  | { readonly t: "release"; readonly requestId: number; readonly partition: number; readonly high: number }
  | { readonly t: "timers"; readonly requestId: number; readonly partition: number; readonly timers: readonly PartitionTimer[] }
  | { readonly t: "pending-timers"; readonly requestId: number; readonly partition: number }
  | { readonly t: "broadcast"; readonly requestId: number; readonly msg: { readonly type: string }; readonly actorType?: string }
  | { readonly t: "call"; readonly requestId: number; readonly callId: number; readonly ok: boolean; readonly value?: unknown; readonly error?: WireError }
  | { readonly t: "limits"; readonly requestId: number; readonly limits: HostLimits }
  | { readonly t: "drop"; readonly requestId: number; readonly partition: number; readonly high: number }
  | { readonly t: "stats"; readonly requestId: number }
  | { readonly t: "close"; readonly requestId: number }
  | { readonly t: "loaded"; readonly loadId: number; readonly snaps?: (ActorSnapshot | undefined)[]; readonly error?: WireError };

/** What a worker returns for one journal batch of a `journal` command, in its order. */
export interface JournalResult {
  readonly effects: ShardEffects;
  readonly corrupt: CorruptMessage[];
}

/** Background output of a worker: timer effects, snapshots, replay floors (in this order of use). */
export interface Background {
  /** Rows encoded in the worker, as in replies. */
  readonly effects: ShardEffects | null;
  readonly snapshots: SnapshotOut[];
  readonly lowWater: [number, number][];
}

/** Worker → main messages. Effects carry their rows as RowBinary made in the worker (objects for tables without a schema). */
export type FromWorker =
  | { readonly t: "ready" }
  | { readonly t: "done"; readonly requestId: number; readonly effects?: ShardEffects; readonly stats?: WorkerStats; readonly timers?: PartitionTimer[]; readonly results?: JournalResult[] }
  | { readonly t: "failed"; readonly requestId: number; readonly error: WireError }
  | { readonly t: "bg"; readonly bg: Background }
  | { readonly t: "load"; readonly loadId: number; readonly keys: SnapshotKey[] }
  | { readonly t: "fatal"; readonly error: WireError };
