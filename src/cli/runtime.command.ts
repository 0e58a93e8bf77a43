import type { CommandIo } from "./io.js";
import { untilSignal } from "./io.js";
import { loadRoleConfig } from "./load.js";
import { startRuntimeRole } from "./roles/runtime-role.js";
import { connectNats } from "../adapters/nats/connection.js";
import { createNatsPartitionJournal, startClusterNode, type ClusterNode, type LeaseOptions } from "../cluster/index.js";

/**
 * `shoal runtime`: run the actor runtime until SIGINT/SIGTERM.
 * Without `consul.url` (single node) it owns every partition. With `consul.url` it runs in cluster
 * mode: it starts owning nothing, joins the cluster in Consul and lets the lease manager acquire and
 * release partitions (rendezvous hashing over the members, bounded moves); SIGTERM hands its
 * partitions off gracefully before exiting. `SHOAL_CLUSTER=off` forces single-node mode.
 * Lease tuning until it has a config section: SHOAL_CLUSTER_SESSION_TTL_MS (10000),
 * SHOAL_CLUSTER_LOCK_DELAY_MS (1000), SHOAL_CLUSTER_MAX_MOVES (8), SHOAL_CLUSTER_READY_LAG (1000),
 * SHOAL_CLUSTER_LEAVE_TIMEOUT_MS (25000).
 */
export async function run(_argv: string[], io: CommandIo): Promise<number> {
  const ctx = await loadRoleConfig(io, "runtime");
  const { cfg, log } = ctx;
  const clustered = cfg.consul.url !== undefined && io.env.SHOAL_CLUSTER !== "off";
  const rt = await startRuntimeRole(cfg, log, clustered ? "none" : "all");
  let cluster: ClusterNode | undefined;
  let closeNats = async () => {};
  if (clustered) {
    try {
      const nc = await connectNats(cfg.nats.url, `shoal-cluster-${cfg.nodeId}`);
      closeNats = () => nc.drain();
      cluster = await startClusterNode({
        consul: { url: cfg.consul.url!, prefix: cfg.consul.prefix, ...(cfg.consul.token ? { token: cfg.consul.token } : {}) },
        env: cfg.env,
        nodeId: cfg.nodeId,
        partitions: cfg.nats.partitions,
        journal: await createNatsPartitionJournal(nc, cfg.nats.stream),
        owner: rt,
        log,
        lease: leaseOverrides(io.env),
      });
      log.info({ node: cfg.nodeId, partitions: cfg.nats.partitions }, "runtime joined the cluster");
    } catch (e) {
      // Could not join (Consul or NATS unreachable): stop cleanly instead of hanging with open handles.
      await closeNats().catch(() => {});
      await rt.close();
      await ctx.close();
      throw e;
    }
  }
  const unsubscribe = ctx.watcher.subscribe((next) => {
    rt.reconfigure(next.config);
    ctx.log.info({ version: next.version }, "configuration applied to device actors");
  });
  const timer = setInterval(() => {
    const st = cluster?.status();
    ctx.log.info({ stats: rt.stats(), ...(st ? { cluster: { owned: st.owned.length, target: st.target.length, misplaced: st.misplaced, ready: cluster!.ready() } } : {}) }, "runtime counters");
  }, 10_000);
  const signal = await untilSignal();
  clearInterval(timer);
  unsubscribe();
  if (cluster) {
    log.info({ signal }, "leaving the cluster: handing partitions off");
    await cluster.leave();
    await closeNats();
  }
  await rt.close();
  await ctx.close();
  return 0;
}

/** Lease options from SHOAL_CLUSTER_* variables (validated by leaseOptions). */
function leaseOverrides(env: Record<string, string | undefined>): Partial<Omit<LeaseOptions, "nodeId" | "partitions">> {
  const num = (name: string) => {
    const v = env[name];
    if (v === undefined || v === "") return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new RangeError(`${name} must be a number, got ${JSON.stringify(v)}`);
    return n;
  };
  const o: Partial<Record<keyof LeaseOptions, number>> = {};
  const pairs: Array<[keyof LeaseOptions, string]> = [
    ["sessionTtlMs", "SHOAL_CLUSTER_SESSION_TTL_MS"],
    ["lockDelayMs", "SHOAL_CLUSTER_LOCK_DELAY_MS"],
    ["maxMoves", "SHOAL_CLUSTER_MAX_MOVES"],
    ["readyLag", "SHOAL_CLUSTER_READY_LAG"],
    ["leaveTimeoutMs", "SHOAL_CLUSTER_LEAVE_TIMEOUT_MS"],
  ];
  for (const [k, name] of pairs) {
    const n = num(name);
    if (n !== undefined) o[k] = n;
  }
  return o as Partial<Omit<LeaseOptions, "nodeId" | "partitions">>;
}
