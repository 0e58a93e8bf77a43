import type { HostLimits, WorkerStats } from "../ports/actor-host.js";
import type { ActorSnapshot, SnapshotKey } from "../ports/snapshot-store.js";
import type { Columns, EffectsAcc } from "./effects.js";
import type { WireError } from "./errors.js";
import type { ResolvedRuntimeOptions } from "./options.js";
import type { SnapshotOut } from "./shard-core.js";

/** Where a worker finds an actor logic: a module specifier (file URL) and its export name. */
export interface LogicSpec {
  /** Absolute module URL/specifier, e.g. `new URL("../actors/device/index.ts", import.meta.url).href`. */
  readonly module: string;
  /** Export holding the ActorLogic object. Default "default". */
  readonly export?: string;
}

/** workerData of a shard worker. */
export interface WorkerInit {
  readonly index: number;
  readonly workers: number;
  readonly logics: readonly LogicSpec[];
  readonly options: ResolvedRuntimeOptions;
}

/** Main → worker commands; each carries a requestId answered by exactly one reply. */
export type ToWorker =
  | { readonly t: "deliver"; readonly requestId: number; readonly cols: Columns; readonly replay: boolean }
  | { readonly t: "broadcast"; readonly requestId: number; readonly msg: { readonly type: string }; readonly actorType?: string }
  | { readonly t: "call"; readonly requestId: number; readonly callId: number; readonly ok: boolean; readonly value?: unknown; readonly error?: WireError }
  | { readonly t: "limits"; readonly requestId: number; readonly limits: HostLimits }
  | { readonly t: "drop"; readonly requestId: number; readonly partition: number; readonly high: number }
  | { readonly t: "stats"; readonly requestId: number }
  | { readonly t: "close"; readonly requestId: number }
  | { readonly t: "loaded"; readonly loadId: number; readonly snaps?: (ActorSnapshot | undefined)[]; readonly error?: WireError };

/** Background output of a worker: timer effects, snapshots, replay floors (in this order of use). */
export interface Background {
  readonly effects: EffectsAcc | null;
  readonly snapshots: SnapshotOut[];
  readonly lowWater: [number, number][];
}

/** Worker → main messages. */
export type FromWorker =
  | { readonly t: "ready" }
  | { readonly t: "done"; readonly requestId: number; readonly effects?: EffectsAcc; readonly stats?: WorkerStats }
  | { readonly t: "failed"; readonly requestId: number; readonly error: WireError }
  | { readonly t: "bg"; readonly bg: Background }
  | { readonly t: "load"; readonly loadId: number; readonly keys: SnapshotKey[] }
  | { readonly t: "fatal"; readonly error: WireError };
