import { toJson } from "@bufbuild/protobuf";
import { AdminCallError, createAdminClient } from "../admin/index.js";
import { authorizationOf, TOKEN_ENV } from "./token.js";
import { GetCountersResponseSchema, GetInfoResponseSchema, GetRuntimeStatsResponseSchema, type GetRuntimeStatsResponse } from "../gen/shoal/v1/admin_pb.js";
import type { CommandIo } from "./io.js";
import { adminTargetOf } from "./admin-target.js";
import { parseSubcommand } from "./subcommand.js";

const USAGE = `usage: shoal admin <command> [options]
  info                   node id, roles, version and start time of the process
  counters               its pipeline counters
  stats                  actor runtime per worker thread: partitions, active actors, mailboxes,
                         turns, activations, passivations, restarts, dead letters, turn latency
  restart-worker <i>     kill worker thread <i> as if it crashed (it is replaced and its partitions rebuilt)
options: --admin <host:port> (default admin.host:admin.port of the configuration)  --json  --timeout <ms> (10000)
A server that checks tokens (console.tokens) needs one: set ${TOKEN_ENV}=<token>.
`;

/** `shoal admin ...`: a client of a running process's AdminService. Exit code: 0 ok, 1 failed call, 2 usage error. */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  const parsed = parseSubcommand(argv, io, USAGE, { admin: { type: "string" }, json: { type: "boolean" }, timeout: { type: "string" } });
  if (typeof parsed === "number") return parsed;
  const { cmd, args, values: o } = parsed;
  const arity: Record<string, number> = { info: 0, counters: 0, stats: 0, "restart-worker": 1 };
  if (arity[cmd] === undefined) return usage(io, `unknown command "${cmd}"`);
  if (args.length !== arity[cmd]) return usage(io, `${cmd} takes ${arity[cmd]} argument(s)`);
  if (cmd === "restart-worker" && !/^\d+$/.test(args[0]!)) return usage(io, `restart-worker takes a worker index (0, 1, ...), got ${JSON.stringify(args[0])}`);
  const timeoutMs = o.timeout === undefined ? 10_000 : Number(o.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) return usage(io, `--timeout must be a positive whole number of ms, got ${JSON.stringify(o.timeout)}`);
  const target = await adminTargetOf(io, o.admin);
  if (typeof target === "number") return target;
  const { address, tls } = target;
  const client = createAdminClient(address, { timeoutMs, authorization: authorizationOf(io.env), ...(tls ? { tls } : {}) });
  try {
    switch (cmd) {
      case "info": {
        const r = await client.getInfo();
        if (o.json) io.stdout(`${JSON.stringify(toJson(GetInfoResponseSchema, r), null, 2)}\n`);
        else io.stdout(`node     ${r.nodeId}\nroles    ${r.roles.join(", ")}\nversion  ${r.version}\nstarted  ${new Date(Number(r.startedAtMs)).toISOString()}\naddress  ${address}\n`);
        return 0;
      }
      case "counters": {
        const r = await client.getCounters();
        if (o.json) io.stdout(`${JSON.stringify(toJson(GetCountersResponseSchema, r), null, 2)}\n`);
        else {
          const names = Object.keys(r.counters).sort();
          const w = Math.max(4, ...names.map((n) => n.length));
          for (const n of names) io.stdout(`${n.padEnd(w)}  ${r.counters[n]}\n`);
        }
        return 0;
      }
      case "stats": {
        const r = await client.getRuntimeStats();
        io.stdout(o.json ? `${JSON.stringify(toJson(GetRuntimeStatsResponseSchema, r), null, 2)}\n` : formatRuntimeStats(r));
        return 0;
      }
      default: {
        const index = Number(args[0]);
        await client.restartWorker(index);
        io.stdout(`worker ${index} restarted (its partitions are rebuilt from snapshots and the journal)\n`);
        return 0;
      }
    }
  } catch (e) {
    if (e instanceof AdminCallError) {
      io.stderr(`shoal admin ${cmd} (${address}): ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    client.close();
  }
}

function usage(io: CommandIo, why: string): number {
  io.stderr(`${why}\n${USAGE}`);
  return 2;
}

const COLUMNS = ["WORKER", "PARTITIONS", "ACTIVE", "MAILBOX", "MAX", "INFLIGHT", "TURNS", "ACTIVATED", "PASSIVATED", "RESTARTS", "DEAD", "SNAPSHOTS", "SKIPPED", "P50_US", "P99_US", "MAX_US"];

/** The table `shoal admin stats` prints (one line per worker, totals, then host-wide counters). */
export function formatRuntimeStats(r: GetRuntimeStatsResponse): string {
  const us = (n: number | undefined) => (n ?? 0).toFixed(1);
  const rows = r.workers.map((w) => [
    String(w.index),
    w.partitions.length === 0 ? "-" : w.partitions.join(","),
    Object.entries(w.activeByType).map(([t, n]) => `${t}=${n}`).join(",") || "0",
    String(w.mailboxDepth),
    String(w.maxMailboxDepth),
    String(w.inFlight),
    String(w.turns),
    String(w.activations),
    String(w.passivations),
    String(w.restarts),
    String(w.deadLetters),
    String(w.snapshots),
    String(w.skipped),
    us(w.turnLatency?.p50Us),
    us(w.turnLatency?.p99Us),
    us(w.turnLatency?.maxUs),
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `${cells.map((c, i) => (i === 1 || i === 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")}\n`;
  let out = line(COLUMNS);
  for (const row of rows) out += line(row);
  const active = r.workers.reduce((a, w) => a + Object.values(w.activeByType).reduce((x, y) => x + y, 0n), 0n);
  const turns = r.workers.reduce((a, w) => a + w.turns, 0n);
  out += `\nworkers ${r.workers.length}  active actors ${active}  turns ${turns}  worker restarts ${r.workerRestarts}  pending snapshots ${r.pendingSnapshots}\n`;
  // What became of the readings (and other logic counters), summed over workers.
  const sums = new Map<string, Map<string, bigint>>();
  for (const w of r.workers) {
    for (const [type, c] of Object.entries(w.logicCounters)) {
      const m = sums.get(type) ?? new Map<string, bigint>();
      for (const [k, n] of Object.entries(c.counters)) m.set(k, (m.get(k) ?? 0n) + n);
      sums.set(type, m);
    }
  }
  for (const [type, m] of [...sums].sort(([a], [b]) => a.localeCompare(b))) {
    out += `${type}: ${[...m].map(([k, n]) => `${k} ${n}`).join("  ")}\n`;
  }
  return out;
}
