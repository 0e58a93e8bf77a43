import { toJson } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { parseDuration } from "../base/units.js";
import { AlertService, AlertSeverity, AlertState, GetAlertResponseSchema, ListAlertsResponseSchema, type Alert } from "../gen/shoal/v1/alert_pb.js";
import { UsageError, type CommandIo } from "./io.js";
import { grpcTransportFor, queryTarget } from "./transport.js";
import { authorizationInterceptor, authorizationOf, TOKEN_ENV } from "./token.js";

/** What `shoal alerts <op>` does as a client of the AlertService (the query role's gRPC port). */
export const OPS_USAGE = `operator commands (a client of shoal.v1.AlertService at --query host:port, default query.host:query.port):
  list [--device D] [--rule R] [--state firing|acknowledged|resolved] [--limit N]   newest first
  show <alert id>                                   the alert and its history
  ack <alert id> --by NAME [--reason TEXT]          acknowledge (stops its escalation)
  resolve <alert id> --by NAME [--reason TEXT]      resolve (it re-arms once its condition cleared)
  silence (--device D | --rule R) --for 2h --by NAME --reason TEXT   do not notify matching transitions
  silences                                          the active silences
  unsilence <silence id> --by NAME [--reason TEXT]
  --json prints the responses as JSON. A server that checks tokens needs ${TOKEN_ENV}=<token> (its name is recorded, not --by).`;

/** Options of the operator commands (parseArgs spec). */
export const OPS_OPTIONS = {
  query: { type: "string" },
  device: { type: "string" },
  rule: { type: "string" },
  state: { type: "string" },
  limit: { type: "string" },
  by: { type: "string" },
  reason: { type: "string" },
  for: { type: "string" },
  json: { type: "boolean" },
} as const;

type OpsValues = { [K in keyof typeof OPS_OPTIONS]?: (typeof OPS_OPTIONS)[K]["type"] extends "boolean" ? boolean : string };

const STATES: Record<string, AlertState> = { firing: AlertState.FIRING, acknowledged: AlertState.ACKNOWLEDGED, resolved: AlertState.RESOLVED };
const stateName = (s: AlertState) => (AlertState[s] ?? "UNSPECIFIED").toLowerCase();
const severityName = (s: AlertSeverity) => (AlertSeverity[s] ?? "UNSPECIFIED").toLowerCase();
const when = (ms: bigint) => (ms > 0n ? new Date(Number(ms)).toISOString() : "-");

/** Runs one operator command; exit code 0, 1 (the call failed), usage errors thrown as UsageError. */
export async function runAlertOp(cmd: string, args: readonly string[], o: OpsValues, io: CommandIo): Promise<number> {
  const need = (n: number) => {
    if (args.length !== n) throw new UsageError(`shoal alerts ${cmd} takes ${n} argument(s)`);
  };
  const by = () => {
    // With a token the server records the token's name; without, --by names who asks.
    if (!o.by && authorizationOf(io.env) === undefined) throw new UsageError(`shoal alerts ${cmd} needs --by <your name> (stored with the change) or ${TOKEN_ENV}`);
    return o.by ?? "";
  };
  const { address, tls } = await queryTarget(io, o.query);
  const client = createClient(AlertService, grpcTransportFor(address, tls, [authorizationInterceptor(authorizationOf(io.env))]));
  const out = (json: unknown, text: string) => io.stdout(o.json ? `${JSON.stringify(json, null, 2)}\n` : text);
  try {
    switch (cmd) {
      case "list": {
        need(0);
        const state = o.state === undefined ? undefined : STATES[o.state];
        if (o.state !== undefined && state === undefined) throw new UsageError(`--state must be firing, acknowledged or resolved, got ${JSON.stringify(o.state)}`);
        const limit = o.limit === undefined ? 50 : Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit must be 1..1000, got ${JSON.stringify(o.limit)}`);
        const r = await client.listAlerts({ deviceId: o.device ?? "", rule: o.rule ?? "", states: state === undefined ? [] : [state], limit });
        out(toJson(ListAlertsResponseSchema, r), r.alerts.map(line).join("") || "no alerts\n");
        return 0;
      }
      case "show": {
        need(1);
        const r = await client.getAlert({ alertId: args[0]! });
        const history = r.history.map((t) => `  v${t.version}  ${when(t.atMs)}  ${kindName(t.kind).padEnd(12)} ${t.by ? `by ${t.by}` : ""}${t.reason ? ` (${t.reason})` : ""}  ${t.summary}\n`).join("");
        out(toJson(GetAlertResponseSchema, r), `${r.alert ? line(r.alert) : ""}${history}`);
        return 0;
      }
      case "ack":
      case "resolve": {
        need(1);
        const req = { alertId: args[0]!, by: by(), reason: o.reason ?? "" };
        const r = cmd === "ack" ? await client.acknowledgeAlert(req) : await client.resolveAlert(req);
        out({ alert: r.alert ? { alertId: r.alert.alertId, state: stateName(r.alert.state) } : undefined, accepted: r.accepted, applied: r.applied }, `${args[0]} ${r.alert ? stateName(r.alert.state) : "?"}${r.applied ? "" : " (accepted: the device actor applies it shortly)"}\n`);
        return 0;
      }
      case "silence": {
        need(0);
        if (!o.device && !o.rule) throw new UsageError("shoal alerts silence needs --device and/or --rule");
        const ms = parseDuration(o.for ?? "");
        if (ms === undefined) throw new UsageError(`--for must be a duration (e.g. 30m, 2h, 1d), got ${JSON.stringify(o.for)}`);
        const r = await client.silenceAlerts({ deviceId: o.device ?? "", rule: o.rule ?? "", durationMs: BigInt(ms), by: by(), reason: o.reason ?? "" });
        out({ id: r.silence?.id, untilMs: Number(r.silence?.untilMs ?? 0n) }, `silence ${r.silence?.id} until ${when(r.silence?.untilMs ?? 0n)}\n`);
        return 0;
      }
      case "silences": {
        need(0);
        const r = await client.listSilences({});
        out(
          r.silences.map((s) => ({ id: s.id, deviceId: s.deviceId, rule: s.rule, untilMs: Number(s.untilMs), by: s.by, reason: s.reason })),
          r.silences.map((s) => `${s.id}  ${s.deviceId || "*"}  ${s.rule || "*"}  until ${when(s.untilMs)}  by ${s.by}${s.reason ? ` (${s.reason})` : ""}\n`).join("") || "no silences\n",
        );
        return 0;
      }
      case "unsilence": {
        need(1);
        await client.deleteSilence({ id: args[0]!, by: by(), reason: o.reason ?? "" });
        out({ deleted: args[0] }, `silence ${args[0]} deleted\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    io.stderr(`shoal alerts ${cmd}: ${e instanceof ConnectError ? e.message : String(e)}\n`);
    return 1;
  }
}

function line(a: Alert): string {
  return `${a.alertId}  ${stateName(a.state).padEnd(12)} ${severityName(a.severity).padEnd(8)} ${when(a.startedAtMs)}  ${a.flapping ? "[flapping] " : ""}${a.summary}\n`;
}

function kindName(k: number): string {
  return ["?", "raised", "escalated", "flapping", "acknowledged", "resolved", "cleared"][k] ?? "?";
}
