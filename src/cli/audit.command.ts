import { parseArgs } from "node:util";
import { ConnectError, createClient } from "@connectrpc/connect";
import { parseDuration } from "../base/units.js";
import { AuditService, type AuditEvent } from "../gen/shoal/v1/audit_pb.js";
import { UsageError, type CommandIo } from "./io.js";
import { grpcTransportFor, queryTarget } from "./transport.js";
import { authorizationInterceptor, authorizationOf, TOKEN_ENV } from "./token.js";

const USAGE = `usage: shoal audit [--since 1h | --from ISO --to ISO] [--actor A] [--action PREFIX] [--target PREFIX] [--limit N] [--json] [--query host:port]
  the audit log, newest first: who changed what, when and from where (a client of shoal.v1.AuditService
  at --query host:port, default query.host:query.port; reading it needs an admin's ${TOKEN_ENV} when the
  server checks tokens)
  --since D        only the last D (e.g. 30m, 1h, 7d)
  --from/--to T    only [from, to) (ISO 8601, e.g. 2026-12-01T10:00:00Z; either may be left out)
  --actor A        only this actor (token name, "cli:<user>" for local commands)
  --action P       only actions starting with P (e.g. shoal.v1.DeviceService/, cli/config)
  --target P       only targets starting with P (e.g. device/d-17, config/)
  --limit N        at most N events (default 100; fetched in pages of up to 1000)
  --json           one JSON array instead of the table
`;

const OPTIONS = {
  query: { type: "string" },
  since: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  actor: { type: "string" },
  action: { type: "string" },
  target: { type: "string" },
  limit: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Most events one command prints. */
const MAX_LIMIT = 100_000;
const PAGE = 1000;

/**
 * `shoal audit`: prints the audit log (src/ports/audit.ts) as a table (time, actor, role, source,
 * action, target, outcome) or JSON. Exit code 0, 1 when the call failed, 2 on a usage error.
 * `now` is the clock of --since (tests fix it).
 */
export async function run(argv: string[], io: CommandIo, now: () => number = Date.now): Promise<number> {
  let o: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];
  try {
    const parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
    o = parsed.values;
  } catch (e) {
    io.stderr(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    io.stdout(USAGE);
    return 0;
  }
  let request: { fromMs: bigint; toMs: bigint; actor: string; actionPrefix: string; targetPrefix: string };
  let limit: number;
  try {
    request = { ...range(o, now()), actor: o.actor ?? "", actionPrefix: o.action ?? "", targetPrefix: o.target ?? "" };
    limit = o.limit === undefined ? 100 : Number(o.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new UsageError(`--limit must be 1..${MAX_LIMIT}, got ${JSON.stringify(o.limit)}`);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`${e.message}\n${USAGE}`);
    return 2;
  }
  const { address, tls } = await queryTarget(io, o.query);
  const client = createClient(AuditService, grpcTransportFor(address, tls, [authorizationInterceptor(authorizationOf(io.env))]));
  const events: AuditEvent[] = [];
  try {
    let pageToken = "";
    do {
      const r = await client.listAuditEvents({ ...request, pageSize: Math.min(PAGE, limit - events.length), pageToken });
      events.push(...r.events);
      pageToken = r.nextPageToken;
    } while (pageToken !== "" && events.length < limit);
  } catch (e) {
    io.stderr(`shoal audit (${address}): ${e instanceof ConnectError ? e.message : String(e)}\n`);
    return 1;
  }
  io.stdout(o.json ? `${JSON.stringify(events.map(jsonOf), null, 2)}\n` : formatAuditTable(events));
  return 0;
}

/** The request's [from, to) from --since or --from/--to (0 = unbounded). */
function range(o: { since?: string; from?: string; to?: string }, nowMs: number): { fromMs: bigint; toMs: bigint } {
  if (o.since !== undefined) {
    if (o.from !== undefined || o.to !== undefined) throw new UsageError("--since cannot be combined with --from/--to");
    const ms = parseDuration(o.since);
    if (ms === undefined || ms <= 0) throw new UsageError(`--since must be a duration (e.g. 30m, 1h, 7d), got ${JSON.stringify(o.since)}`);
    return { fromMs: BigInt(nowMs - ms), toMs: 0n };
  }
  const at = (flag: string, v: string | undefined): bigint => {
    if (v === undefined) return 0n;
    const ms = Date.parse(v);
    if (!Number.isFinite(ms)) throw new UsageError(`--${flag} must be an ISO 8601 time (e.g. 2026-12-01T10:00:00Z), got ${JSON.stringify(v)}`);
    return BigInt(ms);
  };
  const r = { fromMs: at("from", o.from), toMs: at("to", o.to) };
  if (r.fromMs > 0n && r.toMs > 0n && r.fromMs >= r.toMs) throw new UsageError("--to must be after --from");
  return r;
}

const COLUMNS = ["TIME", "ACTOR", "ROLE", "SOURCE", "ACTION", "TARGET", "OUTCOME"] as const;

/** The events as an aligned table, one line each (a header first); "no audit events" when none. */
export function formatAuditTable(events: readonly AuditEvent[]): string {
  if (events.length === 0) return "no audit events\n";
  const rows = events.map((e) => [new Date(Number(e.atMs)).toISOString(), e.actor, e.actorRole || "-", e.source || "-", e.action, e.target || "-", e.outcome].map(printable));
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")}\n`;
  return line(COLUMNS) + rows.map(line).join("");
}

/** Control characters (a refused call may carry any) shown escaped, so one event stays one line. */
const printable = (s: string) => s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);

function jsonOf(e: AuditEvent) {
  let details: unknown;
  try {
    details = JSON.parse(e.detailsJson || "{}");
  } catch {
    details = e.detailsJson;
  }
  return { id: e.id, at: new Date(Number(e.atMs)).toISOString(), atMs: Number(e.atMs), actor: e.actor, actorRole: e.actorRole, source: e.source, action: e.action, target: e.target, outcome: e.outcome, details };
}
