import { create } from "@bufbuild/protobuf";
import { ActorCountersSchema, GetRuntimeStatsResponseSchema, TurnLatencySchema, WorkerStatsSchema, type GetRuntimeStatsResponse } from "../gen/shoal/v1/admin_pb.js";
import type { HostIntrospection } from "../ports/actor-host.js";

/** What the admin service needs of a runtime (the runtime role satisfies it). */
export interface RuntimeIntrospection {
  /** Live counters of the actor host, per worker thread. */
  introspect(): Promise<HostIntrospection>;
  /** Kill worker `index` as if it crashed (replaced, partitions rebuilt). RangeError for a bad index or an in-thread host. */
  restartWorker(index: number): Promise<void>;
}

const int = (n: number) => BigInt(Math.max(0, Math.round(n)));

/** `GetRuntimeStatsResponse` of a host introspection (counts rounded to whole numbers, never negative). */
export function runtimeStatsToPb(view: HostIntrospection): GetRuntimeStatsResponse {
  return create(GetRuntimeStatsResponseSchema, {
    workers: view.workers.map((w) =>
      create(WorkerStatsSchema, {
        index: w.worker,
        partitions: [...w.partitions],
        activeByType: Object.fromEntries(Object.entries(w.activeByType).map(([t, n]) => [t, int(n)])),
        mailboxDepth: int(w.mailboxDepth),
        maxMailboxDepth: int(w.maxMailboxDepth),
        inFlight: int(w.inFlight),
        turns: int(w.turns),
        activations: int(w.activations),
        passivations: int(w.passivations),
        restarts: int(w.restarts),
        deadLetters: int(w.deadLetters),
        snapshots: int(w.snapshots),
        skipped: int(w.skipped),
        turnLatency: create(TurnLatencySchema, { p50Us: w.turnLatencyUs.p50, p99Us: w.turnLatencyUs.p99, maxUs: w.turnLatencyUs.max }),
        configVersion: w.configVersion,
        logicCounters: Object.fromEntries(
          Object.entries(w.logicCounters).map(([t, c]) => [t, create(ActorCountersSchema, { counters: Object.fromEntries(Object.entries(c).map(([k, n]) => [k, int(n)])) })]),
        ),
      }),
    ),
    workerRestarts: int(view.workerRestarts),
    pendingSnapshots: int(view.pendingSnapshots),
  });
}
