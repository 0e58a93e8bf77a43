import { createConsulKv } from "../adapters/consul/index.js";
import { ConsulError, createConsulLocks } from "../adapters/consul/index.js";
import { connectNats } from "../adapters/nats/connection.js";
import { ConfigError } from "../config/index.js";
import { clusterLayout, createClusterAdmin, type ClusterAdmin, type MemberStatus, type PartitionJournal, type PartitionStatus } from "../cluster/index.js";
import { createNatsPartitionJournal } from "../adapters/nats/partition-journal.js";
import { AdminCallError, createAdminClient } from "../admin/index.js";
import { adminTargetOf } from "./admin-target.js";
import { loadConfigFollowingJournal } from "./journal-partitions.js";
import { authorizationOf } from "./token.js";
import type { CommandIo } from "./io.js";
import { parseSubcommand } from "./subcommand.js";

const USAGE = `usage: shoal cluster <command> [options]
  status [--json]        members (owned/target partitions, draining) and the partition map with lag
  rebalance              make every runtime node re-plan now (moves stay bounded)
  drain <node>           move every partition off <node> (bounded steps); it stays a member
  undrain <node>         put a drained node back in service
  history [<partition>]  lock history: every lease acquired/released/lost, oldest first
options: --env <name> (default SHOAL_ENV or dev)  --consul <url>  --no-lag (skip NATS)
         --admin <host:port>  status: read members and the partition map from a running node's
                              admin gRPC server instead of Consul and NATS
Consul layout: <consul.prefix>/<env>/cluster/{members,partitions,drain}/..., history under <prefix>/<env>/cluster-history/<p>/.
`;

/** `shoal cluster ...`. Exit code: 0 ok, 1 failed (no Consul configured, Consul error), 2 usage error. */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  const parsed = parseSubcommand(argv, io, USAGE, {
    env: { type: "string" },
    consul: { type: "string" },
    json: { type: "boolean" },
    "no-lag": { type: "boolean" },
    admin: { type: "string" },
  });
  if (typeof parsed === "number") return parsed;
  const { cmd, args, values: o } = parsed;
  const arity: Record<string, [number, number]> = { status: [0, 0], rebalance: [0, 0], drain: [1, 1], undrain: [1, 1], history: [0, 1] };
  const a = arity[cmd];
  if (a === undefined) return usage(io, `unknown command "${cmd}"`);
  if (args.length < a[0] || args.length > a[1]) return usage(io, `${cmd} takes ${a[0] === a[1] ? a[0] : `${a[0]}..${a[1]}`} argument(s)`);
  if (cmd === "history" && args[0] !== undefined && !/^\d+$/.test(args[0])) return usage(io, "history takes a partition number");

  if (o.admin !== undefined) {
    if (cmd !== "status") return usage(io, "--admin works with status only");
    return statusOverGrpc(io, o.admin, o.json === true);
  }

  const env = { ...io.env, ...(o.consul ? { SHOAL__CONSUL__URL: o.consul } : {}), ...(o.env ? { SHOAL_ENV: o.env } : {}) };
  try {
    const logger = { info: () => {}, warn: (_f: object, m: string) => io.stderr(`warning: ${m}\n`), error: (_f: object, m: string) => io.stderr(`error: ${m}\n`) };
    // The partitions the runtimes use: the journal's own when the deployment did not set them.
    const cfg = (await loadConfigFollowingJournal({ connectKv: createConsulKv, env, logger }, (c) => Boolean(c.consul.url))).resolved.config;
    if (!cfg.consul.url) {
      io.stderr("shoal cluster: consul.url is not configured (single-node mode has no cluster); set SHOAL__CONSUL__URL or --consul\n");
      return 1;
    }
    const locks = createConsulLocks({ url: cfg.consul.url, ...(cfg.consul.token ? { token: cfg.consul.token } : {}) });
    const nc = cmd === "status" && !o["no-lag"] ? await connectNats(cfg.nats, "shoal-cluster-cli").catch(() => undefined) : undefined;
    try {
      const journal: PartitionJournal | undefined = nc ? await createNatsPartitionJournal(nc, cfg.nats.stream) : undefined;
      const admin = createClusterAdmin({ locks, layout: clusterLayout(cfg.consul.prefix, cfg.env), partitions: cfg.nats.partitions, ...(journal ? { journal } : {}) });
      switch (cmd) {
        case "status":
          return await status(io, admin, o.json === true);
        case "rebalance":
          await admin.rebalance();
          io.stdout("rebalance requested\n");
          return 0;
        case "drain":
        case "undrain":
          await admin.drain(args[0]!, cmd === "drain");
          io.stdout(`${args[0]} ${cmd === "drain" ? "draining" : "back in service"}\n`);
          return 0;
        default: {
          const events = await admin.history(args[0] === undefined ? undefined : Number(args[0]));
          if (o.json) io.stdout(`${JSON.stringify(events, null, 2)}\n`);
          else for (const e of events) io.stdout(`${new Date(e.atMs).toISOString()}  p${String(e.partition).padEnd(4)} ${e.event.padEnd(9)} ${e.node}  session=${e.session.slice(0, 8)}${e.modifyIndex ? ` index=${e.modifyIndex}` : ""}${e.rewound ? ` rewound=${e.rewound}` : ""}\n`);
          return 0;
        }
      }
    } finally {
      locks.close();
      await nc?.close();
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ConsulError) {
      io.stderr(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function usage(io: CommandIo, why: string): number {
  io.stderr(`${why}\n${USAGE}`);
  return 2;
}

/** `status --admin host:port`: the same view, from a running node's AdminService (TLS as `shoal admin`: src/cli/admin-target.ts). */
async function statusOverGrpc(io: CommandIo, explicit: string, json: boolean): Promise<number> {
  const target = await adminTargetOf(io, explicit);
  if (typeof target === "number") return target;
  const { address, tls } = target;
  const client = createAdminClient(address, { authorization: authorizationOf(io.env), ...(tls ? { tls } : {}) });
  try {
    const view: Pick<ClusterAdmin, "members" | "partitionMap"> = {
      members: async () =>
        (await client.listMembers()).members.map(
          (m): MemberStatus => ({ node: m.nodeId, session: m.session, startedAtMs: Number(m.startedAtMs), pid: m.pid, leaving: m.leaving, drained: m.drained, owned: m.ownedPartitions, target: m.targetPartitions }),
        ),
      partitionMap: async () =>
        (await client.getPartitionMap()).partitions.map(
          (p): PartitionStatus => ({
            partition: p.partition,
            owner: p.owner === "" ? undefined : p.owner,
            target: p.target === "" ? undefined : p.target,
            pending: p.pending < 0n ? undefined : Number(p.pending),
            ackPending: p.ackPending < 0n ? undefined : Number(p.ackPending),
          }),
        ),
    };
    return await status(io, view, json);
  } catch (e) {
    if (e instanceof AdminCallError) {
      io.stderr(`shoal cluster status (${address}): ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    client.close();
  }
}

async function status(io: CommandIo, admin: Pick<ClusterAdmin, "members" | "partitionMap">, json: boolean): Promise<number> {
  const [members, map] = await Promise.all([admin.members(), admin.partitionMap()]);
  if (json) {
    io.stdout(`${JSON.stringify({ members, partitions: map }, null, 2)}\n`);
    return 0;
  }
  const misplaced = map.filter((p) => p.owner !== p.target).length;
  io.stdout(`members: ${members.length}   partitions: ${map.length}   misplaced: ${misplaced}${misplaced === 0 ? " (converged)" : ""}\n\n`);
  io.stdout(`${"NODE".padEnd(20)} ${"OWNED".padStart(5)} ${"TARGET".padStart(6)}  STATE     PID      SINCE\n`);
  for (const m of members) {
    const state = m.leaving ? "leaving" : m.drained ? "drained" : "active";
    io.stdout(`${m.node.padEnd(20)} ${String(m.owned).padStart(5)} ${String(m.target).padStart(6)}  ${state.padEnd(9)} ${String(m.pid).padEnd(8)} ${new Date(m.startedAtMs).toISOString()}\n`);
  }
  io.stdout(`\n${"P".padStart(4)}  ${"OWNER".padEnd(20)} ${"TARGET".padEnd(20)} ${"PENDING".padStart(8)} ${"UNACKED".padStart(8)}\n`);
  for (const p of map) {
    io.stdout(`${String(p.partition).padStart(4)}  ${(p.owner ?? "-").padEnd(20)} ${(p.target ?? "-").padEnd(20)} ${String(p.pending ?? "-").padStart(8)} ${String(p.ackPending ?? "-").padStart(8)}\n`);
  }
  return 0;
}
