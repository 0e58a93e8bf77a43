import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import type { PartitionTimer, WorkerStats } from "../ports/actor-host.js";
import type { ActorSnapshot, SnapshotKey } from "../ports/snapshot-store.js";
import type { ShardEffects } from "./effects.js";
import { fromWireError, toWireError } from "./errors.js";
import type { Background, FromWorker, JournalResult, ToWorker, WorkerInit } from "./worker-protocol.js";
import type { Clock } from "../ports/clock.js";
import type { AnyLogic } from "./actor-cell.js";
import type { JournalDecoder } from "./journal-batch.js";
import { createShardServer, type ShardServer } from "./shard-server.js";

/** A worker's reply to one command. */
export type WorkerReply = { effects?: ShardEffects; stats?: WorkerStats; timers?: PartitionTimer[]; results?: JournalResult[] };

/** A command to a worker, waiting for its reply. */
export interface Req {
  readonly msg: ToWorker;
  readonly resolve: (r: WorkerReply) => void;
  readonly reject: (e: Error) => void;
  /** Workers that died holding it. */
  crashes: number;
}

/** Where a slot's commands go: a worker thread, or a shard server on this thread. */
export interface ShardEndpoint {
  postMessage(m: ToWorker): void;
  terminate(): Promise<unknown>;
}

/**
 * A shard on the calling thread (the in-thread host): the same server and protocol as a worker
 * thread's, over direct calls; logics and decoder are objects instead of module specifiers.
 */
export interface InThreadShard {
  readonly logics: readonly AnyLogic[];
  readonly decode?: JournalDecoder;
  readonly clock: Clock;
  readonly defer: (fn: () => void) => void;
  readonly partitionOf: (actorType: string, actorId: string) => number;
  readonly encodeRows: boolean;
}

/** One shard of the pool (a worker thread, or in-thread) and what the host tracks about it. */
export interface Slot {
  readonly index: number;
  worker: ShardEndpoint | null;
  /** The shard server when it runs on this thread. */
  local?: ShardServer;
  ready: boolean;
  pending: Map<number, Req>;
  /** Requests waiting for the worker (during start or recovery), in order. */
  backlog: Req[];
  partitions: Set<number>;
  /** Per partition: the highest stream seq of a live batch the worker returned (replay target). */
  returnedHigh: Map<number, number>;
  inFlight: number;
  recovering: Promise<void> | null;
}

/** An empty slot (no worker yet). */
export function newSlot(index: number): Slot {
  return { index, worker: null, ready: false, pending: new Map(), backlog: [], partitions: new Set(), returnedHigh: new Map(), inFlight: 0, recovering: null };
}

/** Dependencies of the worker channel. */
export interface WorkerChannelDeps {
  /** See WorkerPoolHostOptions.tsLoader. */
  readonly tsLoader?: "tsx" | "none";
  readonly execArgv?: readonly string[];
  /** See WorkerPoolHostOptions.youngGenerationMb. */
  readonly youngGenerationMb: number;
  /** workerData of a worker (re)started for `slot`. */
  readonly init: (slot: Slot) => WorkerInit;
  /** Background output (timer effects, snapshots) of a worker. */
  readonly onBackground: (bg: Background) => void;
  /** Snapshots a worker asks for (activations). */
  readonly load: (keys: readonly SnapshotKey[]) => Promise<(ActorSnapshot | undefined)[]>;
  /** A started worker exited (crashed or was terminated). */
  readonly onExit: (slot: Slot) => void;
  /** Run the shards on this thread instead of worker threads. */
  readonly inThread?: InThreadShard;
}

const SELF_IS_TS = import.meta.url.endsWith(".ts");

/** Path of tsx's ESM API (its "import" export; the CommonJS one cannot register ESM hooks). */
function tsxEsmApi(): string {
  const pkg = createRequire(import.meta.url).resolve("tsx/package.json");
  return join(dirname(pkg), "dist/esm/api/index.mjs");
}

/**
 * Main-thread side of the worker protocol: starts shard workers (with the tsx loader when running
 * from TypeScript), posts commands with a requestId each and settles them from the replies.
 */
export class WorkerChannel {
  private nextRequest = 1;

  constructor(private readonly d: WorkerChannelDeps) {}

  /** Send `msg` now, or once the slot's worker is ready and not recovering. */
  request(slot: Slot, msg: ToWorker): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      const req: Req = { msg, resolve, reject, crashes: 0 };
      if (slot.ready && slot.recovering === null) this.post(slot, req);
      else slot.backlog.push(req);
    });
  }

  /** Send a request to the slot's worker now (it must have one), under a fresh requestId. */
  post(slot: Slot, req: Req): void {
    const requestId = this.nextRequest++;
    (req.msg as { requestId: number }).requestId = requestId;
    slot.pending.set(requestId, req);
    slot.worker!.postMessage(req.msg);
  }

  /**
   * A shard server for `slot` on this thread, ready at once (synchronously: the in-thread host is
   * built synchronously). Commands are direct calls; replies come back the same way.
   */
  spawnInThread(slot: Slot, shard: InThreadShard): void {
    const init = this.d.init(slot);
    const server = createShardServer(
      {
        index: init.index,
        workers: init.workers,
        options: init.options,
        logics: shard.logics,
        ...(shard.decode ? { decode: shard.decode } : {}),
        configs: init.configs,
        clock: shard.clock,
        defer: shard.defer,
        partitionOf: shard.partitionOf,
        isLocal: () => true,
        encodeRows: shard.encodeRows,
      },
      (m) => this.onMessage(slot, m),
    );
    slot.local = server;
    slot.worker = { postMessage: (m) => server.handle(m), terminate: async () => 0 };
    slot.ready = true;
  }

  /** Start a worker for `slot`; resolves once it loaded its actor logics, rejects if it failed to. */
  spawn(slot: Slot): Promise<void> {
    if (this.d.inThread !== undefined) {
      this.spawnInThread(slot, this.d.inThread);
      return Promise.resolve();
    }
    const init = this.d.init(slot);
    const ext = SELF_IS_TS ? ".ts" : ".js";
    const entry = new URL(`./worker-entry${ext}`, import.meta.url).href;
    const ts = (this.d.tsLoader ?? (SELF_IS_TS ? "tsx" : "none")) === "tsx";
    const code = ts
      ? `import(${JSON.stringify(tsxEsmApi())}).then((a) => { a.register(); return import(${JSON.stringify(entry)}); })`
      : `import(${JSON.stringify(entry)})`;
    const worker = new Worker(code, {
      eval: true,
      workerData: init,
      execArgv: [...(this.d.execArgv ?? [])],
      resourceLimits: { maxYoungGenerationSizeMb: this.d.youngGenerationMb },
    });
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
        this.d.onExit(slot);
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
        this.d.onBackground(m.bg);
        return;
      case "load": {
        const worker = slot.worker;
        this.d.load(m.keys).then(
          (snaps) => worker?.postMessage({ t: "loaded", loadId: m.loadId, snaps } satisfies ToWorker),
          (err: unknown) => worker?.postMessage({ t: "loaded", loadId: m.loadId, error: toWireError(err) } satisfies ToWorker),
        );
        return;
      }
      default:
        return;
    }
  }
}
