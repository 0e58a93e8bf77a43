import type { ChildProcess } from "node:child_process";
import { createConsulLocks } from "../../src/adapters/consul/index.js";
import { clusterLayout, createClusterAdmin, type ClusterAdmin, type PartitionJournal } from "../../src/cluster/index.js";
import { exited, spawnRole, waitFor } from "../support/pipeline.js";

/** A `shoal runtime` child process in cluster mode. */
export interface RuntimeProc {
  readonly node: string;
  readonly child: ChildProcess;
  /** Everything it printed (JSON log lines). */
  out(): string;
  /** SIGKILL; resolves with the time the process was gone. */
  kill(): Promise<number>;
  /** SIGTERM (graceful leave); resolves with the exit code. */
  stop(): Promise<number | null>;
}

const live = new Set<ChildProcess>();
// A timed-out test or a crashed bench must not leave runtime processes behind.
process.once("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

/** SIGKILLs every runtime process spawned by this module that is still running (afterAll). */
export async function killAllRuntimes(): Promise<void> {
  await Promise.all(
    [...live].map((c) => {
      c.kill("SIGKILL");
      return exited(c);
    }),
  );
}

/** Spawns `shoal runtime` as cluster node `node` (info logs by default, so lease events are visible). */
export function spawnRuntime(node: string, env: Record<string, string>, logLevel = "info"): RuntimeProc {
  let out = "";
  const child = spawnRole("runtime", { ...env, SHOAL__NODEID: node, SHOAL__LOG__LEVEL: logLevel }, (s) => (out += s));
  live.add(child);
  child.once("exit", () => live.delete(child));
  return {
    node,
    child,
    out: () => out,
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
      return Date.now();
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      return exited(child);
    },
  };
}

/** Cluster admin on a test's Consul. */
export function testAdmin(consulUrl: string, env: string, partitions: number): { admin: ClusterAdmin; close(): void } {
  const locks = createConsulLocks({ url: consulUrl });
  return { admin: createClusterAdmin({ locks, layout: clusterLayout("shoal", env), partitions }), close: () => locks.close() };
}

/** Waits until every partition is owned by its target and the member set is `members` (sorted). */
export async function waitConverged(admin: ClusterAdmin, members: readonly string[], timeoutMs: number, what: string): Promise<void> {
  await waitFor(
    async () => {
      const [ms, map] = await Promise.all([admin.members(), admin.partitionMap()]);
      return { members: ms.map((m) => m.node).join(","), misplaced: map.filter((p) => p.owner === undefined || p.owner !== p.target).length };
    },
    (v) => v.members === [...members].sort().join(",") && v.misplaced === 0,
    timeoutMs,
    what,
  );
}

/**
 * What to look at when a cluster run does not store every reading in time: per partition with
 * messages still open, its durable consumer (undelivered, delivered-but-unacked, redelivered, ack
 * floor vs last delivered) and its lease history. "Undelivered > 0 with no owner pulling" or
 * "unacked with a dead/closed puller" is a stall (ack_wait redelivers it, or nobody pulls); open = 0
 * with rows missing is a loss.
 */
export async function journalDiagnosis(journal: PartitionJournal, admin: ClusterAdmin, partitions: number): Promise<string> {
  const lines: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const lag = await journal.lag(p).catch((e: unknown) => (e as Error).message);
    if (typeof lag !== "string" && lag.pending + lag.ackPending === 0) continue;
    const history = await admin.history(p).catch(() => []);
    const events = history.map((e) => `${new Date(e.atMs).toISOString().slice(11, 23)} ${e.node} ${e.event}${e.rewound ? ` (rewound ${e.rewound})` : ""}`).join(", ");
    lines.push(`p${p}: ${typeof lag === "string" ? lag : `undelivered ${lag.pending}, unacked ${lag.ackPending}, ack floor ${lag.ackFloor}`}; leases: ${events}`);
  }
  return lines.length === 0 ? "every partition consumer is fully acked (missing rows would be a loss, not a stall)" : lines.join("\n");
}
