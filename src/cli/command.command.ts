import { toJson } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Client } from "@connectrpc/connect";
import { sleep } from "../base/clock.js";
import { parseDuration } from "../base/units.js";
import { CommandStatus, DeviceCommandSchema, DeviceCommandService, type DeviceCommand } from "../gen/shoal/v1/command_pb.js";
import { UsageError, type CommandIo } from "./io.js";
import { grpcTransportFor, queryTarget } from "./transport.js";
import { parseSubcommand } from "./subcommand.js";
import { authorizationInterceptor, authorizationOf, TOKEN_ENV } from "./token.js";

const USAGE = `usage: shoal command <send|show|list> [options]   commands to devices (a client of shoal.v1.DeviceCommandService)
  send <device id> <name> [--payload JSON] [--ttl 5m] [--wait]   queue a command; prints its id
                       --wait: until it is settled; exit 0 when acknowledged, 1 when failed or expired
  show <command id>                           one command and its status
  list [device id] [--status S[,S...]] [--limit N (20)]
                       commands newest first: the device's, or every device's without one;
                       --status: only these (pending, delivered, acknowledged, failed, expired)
options: --query <host:port> (default query.host:query.port of the configuration)  --json
A server that checks tokens needs one: set ${TOKEN_ENV}=<token> (sending needs the operator role; its name is recorded as sent_by).
`;

const OPTIONS = {
  query: { type: "string" },
  payload: { type: "string" },
  ttl: { type: "string" },
  wait: { type: "boolean" },
  limit: { type: "string" },
  status: { type: "string" },
  json: { type: "boolean" },
} as const;

type Values = { query?: string; payload?: string; ttl?: string; wait?: boolean; limit?: string; status?: string; json?: boolean };

/** How often `send --wait` reads the command's status, ms. */
const WAIT_POLL_MS = 500;

/**
 * `shoal command send|show|list`: commands to devices from the command line, as a client of the
 * DeviceCommandService on the query role's gRPC port. Exit code: 0 ok, 1 failed call (or, with
 * --wait, a command that was not acknowledged), 2 usage error.
 */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  const parsed = parseSubcommand(argv, io, USAGE, OPTIONS);
  if (typeof parsed === "number") return parsed;
  try {
    const { address, tls } = await queryTarget(io, parsed.values.query);
    const client = createClient(DeviceCommandService, grpcTransportFor(address, tls, [authorizationInterceptor(authorizationOf(io.env))]));
    return await runCommandOp(parsed.cmd, parsed.args, parsed.values, io, client);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`${e.message}\n${USAGE}`);
    return 2;
  }
}

/** One `shoal command` operation against `client` (tests pass an in-process one). */
export async function runCommandOp(cmd: string, args: readonly string[], o: Values, io: CommandIo, client: Client<typeof DeviceCommandService>): Promise<number> {
  const need = (n: number) => {
    if (args.length !== n) throw new UsageError(`shoal command ${cmd} takes ${n} argument(s)`);
  };
  const print = (c: DeviceCommand) => io.stdout(o.json ? `${JSON.stringify(toJson(DeviceCommandSchema, c))}\n` : describe(c));
  try {
    switch (cmd) {
      case "send": {
        need(2);
        const ttlMs = o.ttl === undefined ? 0 : parseDuration(o.ttl);
        if (ttlMs === undefined || (o.ttl !== undefined && ttlMs === 0)) throw new UsageError(`--ttl must be a duration (e.g. 30s, 5m, 1h), got ${JSON.stringify(o.ttl)}`);
        const r = await client.sendCommand({ deviceId: args[0]!, name: args[1]!, payloadJson: o.payload ?? "", ttlMs: BigInt(ttlMs) });
        let c = r.command!;
        if (!o.wait) {
          print(c);
          return 0;
        }
        // systemClock's timers are unref'd (they never keep a process alive): hold the process while waiting.
        const alive = setInterval(() => {}, 60_000);
        try {
          while (c.status === CommandStatus.PENDING || c.status === CommandStatus.DELIVERED) {
            await sleep(Math.min(WAIT_POLL_MS, Math.max(10, Number(c.expiresAtMs) - Date.now() + 50)));
            c = (await client.getCommand({ commandId: c.commandId })).command!;
          }
        } finally {
          clearInterval(alive);
        }
        print(c);
        return c.status === CommandStatus.ACKNOWLEDGED ? 0 : 1;
      }
      case "show": {
        need(1);
        print((await client.getCommand({ commandId: args[0]! })).command!);
        return 0;
      }
      case "list": {
        if (args.length > 1) throw new UsageError("shoal command list takes at most 1 argument (a device id)");
        const limit = o.limit === undefined ? 20 : Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit must be 1..1000, got ${JSON.stringify(o.limit)}`);
        const r = await client.listCommands({ deviceId: args[0] ?? "", pageSize: limit, statuses: statusesOf(o.status) });
        const fleet = args[0] === undefined;
        if (o.json) io.stdout(`${JSON.stringify(r.commands.map((c) => toJson(DeviceCommandSchema, c)))}\n`);
        else io.stdout(r.commands.map((c) => line(c, fleet)).join("") || "no commands\n");
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    io.stderr(`shoal command ${cmd}: ${e instanceof ConnectError ? e.message : String(e)}\n`);
    return 1;
  }
}

const statusName = (s: CommandStatus) => (CommandStatus[s] ?? "UNSPECIFIED").toLowerCase();

/** `--status pending,delivered` as CommandStatus values ([] without the option); a UsageError names a wrong one. */
function statusesOf(text: string | undefined): CommandStatus[] {
  if (text === undefined) return [];
  return text.split(",").map((raw) => {
    const name = raw.trim().toUpperCase();
    const s = CommandStatus[name as keyof typeof CommandStatus];
    if (s === undefined || s === CommandStatus.UNSPECIFIED) throw new UsageError(`--status: "${raw.trim()}" is no command status (pending, delivered, acknowledged, failed, expired)`);
    return s;
  });
}
const when = (ms: bigint) => (ms > 0n ? new Date(Number(ms)).toISOString() : "-");

function describe(c: DeviceCommand): string {
  const rows: [string, string][] = [
    ["command", c.commandId],
    ["device", c.deviceId],
    ["name", c.name],
    ["payload", c.payloadJson],
    ["status", statusName(c.status)],
    ["created", when(c.createdAtMs)],
    ["expires", when(c.expiresAtMs)],
    ["updated", when(c.updatedAtMs)],
    ["attempts", String(c.attempts)],
    ["sent_by", c.sentBy],
    ...(c.replyJson ? ([["reply", c.replyJson]] as [string, string][]) : []),
    ...(c.reason ? ([["reason", c.reason]] as [string, string][]) : []),
  ];
  return rows.map(([k, v]) => `${k.padEnd(9)} ${v}\n`).join("");
}

function line(c: DeviceCommand, withDevice: boolean): string {
  return `${c.commandId}  ${withDevice ? `${c.deviceId}  ` : ""}${statusName(c.status).padEnd(12)} ${when(c.createdAtMs)}  ${c.name}${c.reason ? `  (${c.reason})` : ""}\n`;
}
