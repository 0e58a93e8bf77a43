import { parseArgs } from "node:util";
import { createConsulKv } from "../adapters/consul/index.js";
import { createClickHouseClient } from "../adapters/clickhouse/index.js";
import { storedRows, type StoredSource } from "../adapters/clickhouse/stored-rows.js";
import { parseDuration } from "../base/units.js";
import { loadConfig } from "../config/index.js";
import { createGatewayClient } from "../gateway/index.js";
import { createLogger } from "../observability/logger.js";
import { VectorIndexer } from "../vectors/indexer.js";
import { openVectorStore } from "./roles/vector-store.js";
import { UsageError, type CommandIo } from "./io.js";
import { tokenNamed } from "../access/index.js";

const USAGE = `usage: shoal vectors status
       shoal vectors rebuild [--since 7d] [--until <ISO time>] [--no-logs]
status:  objects per collection of the configured vector store (vectors.store).
rebuild: write again the vectors of everything ClickHouse stored in the window (anomaly windows,
         explanations, device log lines), through the same indexer the query role runs: objects
         already there are overwritten by identical ones (deterministic ids). Texts are embedded by
         \`shoal gateway\` (gateway.client.address). docs/adr/0015-vector-writes.md.
`;

/** `shoal vectors`. Exit code 0, 1 failed, 2 usage. */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { since: { type: "string", default: "7d" }, until: { type: "string" }, "no-logs": { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (e) {
    io.stderr(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [sub] = parsed.positionals;
  const o = parsed.values;
  if (o.help || (sub !== "status" && sub !== "rebuild")) {
    (o.help ? io.stdout : io.stderr)(USAGE);
    return o.help ? 0 : 2;
  }
  const log = createLogger({ level: io.env.SHOAL__LOG__LEVEL ?? "warn", name: "vectors" });
  const cfg = (await loadConfig({ connectKv: createConsulKv, env: io.env, logger: log })).config;
  const gateway = createGatewayClient({ address: cfg.gateway.client.address, token: tokenNamed(cfg.console.tokens, cfg.gateway.client.tokenName), tls: cfg.tls });
  const store = await openVectorStore(cfg, log, gateway);
  if (store === undefined) {
    gateway.close();
    return 1;
  }
  try {
    if (sub === "status") {
      for (const c of ["anomaly_windows", "texts"] as const) io.stdout(`${c.padEnd(16)} ${await store.count(c).catch((e: Error) => `unavailable (${e.message})`)}\n`);
      return 0;
    }
    const sinceMs = parseDuration(o.since);
    if (sinceMs === undefined) throw new UsageError(`--since "${o.since}" is not a duration (e.g. 12h, 7d)`);
    const untilMs = o.until === undefined ? Date.now() : Date.parse(o.until);
    if (Number.isNaN(untilMs)) throw new UsageError(`--until "${o.until}" is not an ISO time`);
    const ch = createClickHouseClient(cfg.clickhouse);
    const indexer = new VectorIndexer({
      store,
      embed: (texts) => Promise.all(texts.map(async (text) => (await gateway.embed({ text, subjectId: "vectors" })).vector)),
      indexLogs: cfg.vectors.indexLogs && !o["no-logs"],
    });
    try {
      const tables: StoredSource[] = ["anomaly_windows", "analyses", "reports", "readings"];
      for (const table of tables) {
        if (table === "readings" && !(cfg.vectors.indexLogs && !o["no-logs"])) continue;
        let rows = 0;
        for await (const batch of storedRows(ch, table, untilMs - sinceMs, untilMs)) {
          await indexer.handle({ table, rows: batch, atMs: Date.now() });
          rows += batch.length;
        }
        io.stdout(`${table.padEnd(16)} ${rows} rows read\n`);
      }
      const s = indexer.stats;
      io.stdout(`written: ${s.windows} anomaly windows, ${s.explanations} explanations, ${s.reports} reports, ${s.logs} log lines (${s.logRepeatsSkipped} repeated lines skipped)\n`);
      return 0;
    } finally {
      await ch.close();
    }
  } finally {
    gateway.close();
    await store.close();
  }
}
