import { createConsulKv } from "../adapters/consul/index.js";
import { createClickHouseClient, StoreRepair, type RepairReport } from "../adapters/clickhouse/index.js";
import { connectNats } from "../adapters/nats/connection.js";
import { createJetStreamRowLog } from "../adapters/nats/row-log.js";
import { systemClock } from "../base/clock.js";
import { parseDuration } from "../base/units.js";
import { loadConfig } from "../config/index.js";
import { createLogger } from "../observability/logger.js";
import { noIncidents } from "../ports/incidents.js";
import { UsageError, type CommandIo } from "./io.js";
import { parseArgs } from "node:util";

const USAGE = `usage: shoal repair [--since 10m] [--until <ISO time>] [--json]
Insert again into ClickHouse every row the row log (the SHOAL_ROWS stream) holds for the window
(default: the last 10 minutes up to now). Rows ClickHouse still has are replaced by identical ones;
rows it lost come back. Prints, per table, the rows logged, the rows ClickHouse had of the window
before, and the rows missing. Runtimes do this by themselves after ClickHouse restarts
(clickhouse.repair); this is the on-demand check. docs/adr/0012-row-log-repair.md.
`;

/** `shoal repair`. Exit code: 0 nothing was missing, 3 rows were missing (and are back), 1 failed, 2 usage. */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  let o;
  try {
    o = parseArgs({ args: argv, options: { since: { type: "string", default: "10m" }, until: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } } }).values;
  } catch (e) {
    io.stderr(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    io.stdout(USAGE);
    return 0;
  }
  const sinceMs = parseDuration(o.since);
  if (sinceMs === undefined) throw new UsageError(`--since "${o.since}" is not a duration (e.g. 90s, 10m, 2h)`);
  const untilMs = o.until === undefined ? Date.now() : Date.parse(o.until);
  if (Number.isNaN(untilMs)) throw new UsageError(`--until "${o.until}" is not an ISO time`);
  const log = createLogger({ level: io.env.SHOAL__LOG__LEVEL ?? "warn", name: "repair" });
  const cfg = (await loadConfig({ connectKv: createConsulKv, env: io.env, logger: log })).config;
  const ch = cfg.clickhouse;
  const nc = await connectNats(cfg.nats, "shoal-repair-cli");
  try {
    const rowLog = await createJetStreamRowLog(nc, { writer: cfg.nodeId, keepMs: ch.repair.keepMs, replicas: cfg.nats.replicas });
    const repair = new StoreRepair(
      createClickHouseClient({ url: ch.url, database: ch.database, username: ch.username, password: ch.password }),
      rowLog,
      { clock: systemClock, log, incidents: noIncidents, lastAcceptedInsertAt: () => 0 },
      { node: cfg.nodeId, lookbackMs: ch.repair.lookbackMs, checkEveryMs: ch.repair.checkEveryMs },
    );
    try {
      const report = await repair.repair(untilMs - sinceMs, untilMs, "requested by shoal repair");
      io.stdout(o.json ? `${JSON.stringify(report)}\n` : table(report));
      return report.missing > 0 ? 3 : 0;
    } finally {
      await repair.close();
      rowLog.close();
    }
  } finally {
    await nc.drain();
  }
}

function table(r: RepairReport): string {
  const lines = [
    `window ${new Date(r.fromMs).toISOString()} .. ${new Date(r.untilMs).toISOString()}: ${r.entries} row log entries, ${r.reinserted} rows inserted again in ${r.tookMs} ms`,
    "| table | rows logged | rows ClickHouse had | missing (now back) |",
    "|---|---|---|---|",
    ...r.tables.map((t) => `| ${t.table} | ${t.logged} | ${t.presentBefore} | ${t.missing} |`),
    r.missing > 0 ? `${r.missing} rows were missing and are back.` : "Nothing was missing.",
  ];
  return `${lines.join("\n")}\n`;
}
