import { parseArgs } from "node:util";
import { createConsulKv } from "../adapters/consul/index.js";
import { startRoleStatus } from "./role-status.js";
import { connectNats } from "../adapters/nats/connection.js";
import { loadConfig } from "../config/index.js";
import { createGatewayClient } from "../gateway/index.js";
import { createLogger } from "../observability/logger.js";
import { parsePeriodStart, periodAt, reportIdOf } from "../reports/index.js";
import { UsageError, untilSignal, type CommandIo } from "./io.js";
import { loadRoleConfig } from "./load.js";
import { startReportsRoleFor } from "./roles/reports-role.js";
import { tokenNamed } from "../access/index.js";

const USAGE = `usage: shoal reports
       shoal reports run --schedule <name> --period <ISO time | ms>
(no subcommand): run the scheduled reports until SIGINT/SIGTERM: one leader per cluster (Consul
         session lock on reports.leaderKey) catches up the missing periods of every schedule and
         generates each period when it falls due; the others stand by to take over.
run:     generate the report of one period by hand (backfill): the period of the schedule that
         contains the given time, which must have ended. Idempotent: prints "exists <id>" when
         the report is stored already, else "written <id>".
Summaries come from \`shoal gateway\` (gateway.client.address). docs/adr/0017-reports.md.
`;

/** `shoal reports [run]`. Exit code 0, 1 failed, 2 usage. */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { schedule: { type: "string" }, period: { type: "string" }, help: { type: "boolean", short: "h" } } });
  } catch (e) {
    io.stderr(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [sub] = parsed.positionals;
  const o = parsed.values;
  if (o.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (sub === undefined) return runRole(io);
  if (sub !== "run") {
    io.stderr(`unknown subcommand ${JSON.stringify(sub)}\n${USAGE}`);
    return 2;
  }
  if (o.schedule === undefined || o.period === undefined) throw new UsageError("shoal reports run needs --schedule <name> and --period <ISO time | ms>");
  const log = createLogger({ level: io.env.SHOAL__LOG__LEVEL ?? "warn", name: "reports" });
  const cfg = (await loadConfig({ connectKv: createConsulKv, env: io.env, logger: log })).config;
  const schedule = cfg.reports.schedules.find((s) => s.name === o.schedule);
  if (schedule === undefined) throw new UsageError(`--schedule ${JSON.stringify(o.schedule)} is not configured (reports.schedules: ${cfg.reports.schedules.map((s) => s.name).join(", ") || "none"})`);
  let fromMs: number;
  try {
    fromMs = parsePeriodStart(schedule.everyMs, o.period).fromMs;
  } catch (e) {
    throw new UsageError(`--period: ${(e as Error).message}`);
  }
  const end = periodAt(schedule.everyMs, fromMs).toMs;
  if (end > Date.now()) throw new UsageError(`--period: ${reportIdOf(schedule.name, fromMs)} ends at ${new Date(end).toISOString()}, which has not come yet`);
  const gateway = createGatewayClient({ address: cfg.gateway.client.address, token: tokenNamed(cfg.console.tokens, cfg.gateway.client.tokenName), tls: cfg.tls, timeoutMs: cfg.gateway.deadlines.summarizeMs });
  const nc = cfg.clickhouse.repair.enabled ? await connectNats(cfg.nats, `shoal-reports-cli-${cfg.nodeId}`) : undefined;
  try {
    // Only this one report: no election, no schedule running.
    const role = await startReportsRoleFor({ ...cfg, reports: { ...cfg.reports, enabled: false } }, log, { gateway, ...(nc ? { nc } : {}) });
    try {
      const out = await role.generate(schedule.name, fromMs);
      io.stdout(`${out.status} ${out.reportId}\n`);
      return 0;
    } finally {
      await role.close();
    }
  } finally {
    gateway.close();
    await nc?.drain();
  }
}

/** The long-running role: leader election and scheduler until a signal. */
async function runRole(io: CommandIo): Promise<number> {
  const ctx = await loadRoleConfig(io, "reports");
  const { cfg, log } = ctx;
  const gateway = createGatewayClient({ address: cfg.gateway.client.address, token: tokenNamed(cfg.console.tokens, cfg.gateway.client.tokenName), tls: cfg.tls, timeoutMs: cfg.gateway.deadlines.summarizeMs });
  // The row log (reports reach the vector indexer through it) is on NATS when clickhouse.repair is on.
  const nc = cfg.clickhouse.repair.enabled ? await connectNats(cfg.nats, `shoal-reports-${cfg.nodeId}`) : undefined;
  const role = await startReportsRoleFor(cfg, log, { gateway, ...(nc ? { nc } : {}) });
  const status = await startRoleStatus(ctx, { reports: () => role.stats() });
  io.stdout(`shoal reports running (${cfg.reports.schedules.map((s) => s.name).join(", ") || "no schedules"}; ${cfg.consul.url ? `leader key ${cfg.reports.leaderKey}` : "no Consul: no leader election"})\n`);
  await untilSignal();
  await status.close();
  await role.close();
  gateway.close();
  await nc?.drain();
  await ctx.close();
  return 0;
}
