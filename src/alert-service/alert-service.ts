import { randomUUID } from "node:crypto";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { AlertReadModel, AlertRow } from "../ports/alert-read-model.js";
import type { AlertCommandSink, SilenceStore } from "../ports/alerts.js";
import type { Clock } from "../ports/clock.js";
import type { AlertService } from "../gen/shoal/v1/alert_pb.js";
import type { AlertWatchHub } from "./alert-watch.js";
import { createCommandRunner, type CommandOutcome } from "./commands.js";
import { alertOf, silenceOf, transitionOf } from "./convert.js";
import { guard } from "../grpc/guard.js";
import { createSilenceOps, type SilenceChangeHook } from "./silences.js";
import * as v from "./validate.js";
import { CALLER } from "../access/index.js";
import type { HandlerContext } from "@connectrpc/connect";

export interface AlertServiceDeps {
  readonly readModel: AlertReadModel;
  /** Where acknowledge/resolve go (the device's journal partition in production). */
  readonly commands: AlertCommandSink;
  readonly silences: SilenceStore;
  readonly watch: AlertWatchHub;
  readonly clock: Clock;
  /** Longest wait for an acknowledge/resolve to show in the read model before answering applied=false, ms (alerts.commandWait). Default 5000. */
  readonly waitMs?: number;
  /** How often the read model is polled while waiting, ms. Default 100. */
  readonly pollMs?: number;
  /** Called after a silence is stored or deleted (records the silences' history). A failure is reported to onInternalError; the change stands. */
  readonly onSilenceChange?: SilenceChangeHook;
  /** Where unexpected errors go (callers see INTERNAL without them). */
  readonly onInternalError?: (method: string, err: unknown) => void;
  /** Ids of commands and silences. Default crypto.randomUUID. */
  readonly newId?: () => string;
}

/**
 * shoal.v1.AlertService as a Connect implementation (served over gRPC by src/grpc/connect-on-grpc.ts,
 * see ./server.ts). Arguments are validated first (./validate.ts); storage and journal failures are
 * UNAVAILABLE (retry), anything unexpected INTERNAL without internals in the message.
 */
export function createAlertService(d: AlertServiceDeps): ServiceImpl<typeof AlertService> {
  const onInternal = d.onInternalError ?? (() => {});
  const guarded = guard(onInternal);
  const newId = d.newId ?? randomUUID;
  const run = createCommandRunner({ readModel: d.readModel, commands: d.commands, clock: d.clock, waitMs: d.waitMs ?? 5_000, pollMs: d.pollMs ?? 100, newId });
  const silences = createSilenceOps({ store: d.silences, clock: d.clock, newId, onChange: d.onSilenceChange, onHookError: (e) => onInternal("onSilenceChange", e) });
  const outcome = (o: CommandOutcome) => ({ alert: alertOf(o.alert), accepted: o.accepted, applied: o.applied });

  return {
    listAlerts: guarded(async (req, ctx) => {
      const deviceId = v.optionalDeviceId(req.deviceId);
      const rule = v.optionalRule(req.rule);
      const states = v.states(req.states);
      const severities = v.severitiesFrom(req.minSeverity);
      const range = v.startedRange(req.sinceMs, req.untilMs);
      const limit = v.limit(req.limit, "limit", 100, 1000);
      const after = pageAfter(req.pageToken);
      const rows = await d.readModel.listAlerts({ deviceId, rule, states, severities, ...range, after, limit: limit + 1 }, ctx.signal);
      const page = rows.slice(0, limit);
      return { alerts: page.map(alertOf), nextPageToken: rows.length > limit ? pageToken(page[page.length - 1]!) : "" };
    }),

    getAlert: guarded(async (req, ctx) => {
      const id = v.alertId(req.alertId);
      const [alert, history] = await Promise.all([d.readModel.getAlert(id, ctx.signal), d.readModel.history(id, ctx.signal)]);
      if (alert === undefined) throw notFound(id);
      return { alert: alertOf(alert), history: history.map(transitionOf) };
    }),

    acknowledgeAlert: guarded(async (req, ctx) => {
      const [id, by, reason] = [v.alertId(req.alertId), authorOf(req.by, ctx), v.reason(req.reason)];
      return outcome(await run("acknowledge", id, by, reason, ctx.signal, ctx.timeoutMs()));
    }),

    resolveAlert: guarded(async (req, ctx) => {
      const [id, by, reason] = [v.alertId(req.alertId), authorOf(req.by, ctx), v.reason(req.reason)];
      return outcome(await run("resolve", id, by, reason, ctx.signal, ctx.timeoutMs()));
    }),

    silenceAlerts: guarded(async (req, ctx) => {
      const deviceId = v.optionalDeviceId(req.deviceId);
      const rule = v.optionalRule(req.rule);
      if (deviceId === "" && rule === "") throw v.invalid("device_id", "device_id or rule required (a silence of everything is not allowed)");
      const durationMs = v.silenceMs(req.durationMs);
      const [by, reason] = [authorOf(req.by, ctx), v.reason(req.reason)];
      const s = await silences.create({ deviceId, rule, durationMs, by, reason });
      return { silence: silenceOf(s, d.clock.now()) };
    }),

    listSilences: guarded(async (req) => {
      const got = await silences.list(req.includeExpired);
      const now = d.clock.now();
      return { silences: got.map((s) => silenceOf(s, now)) };
    }),

    deleteSilence: guarded(async (req, ctx) => {
      const [id, by, reason] = [v.silenceId(req.id), authorOf(req.by, ctx), v.reason(req.reason)];
      const s = await silences.remove(id, by, reason);
      return { silence: silenceOf(s, d.clock.now()) };
    }),

    async *watchAlerts(req, ctx) {
      const deviceId = v.optionalDeviceId(req.deviceId);
      yield* d.watch.watch(deviceId === "" ? undefined : deviceId, ctx.signal);
    },
  };
}

function notFound(id: string): ConnectError {
  return new ConnectError(`alert ${id}: not found`, Code.NotFound);
}

/** Page tokens: the page's last (started_at_ms, alert_id), base64url (opaque to callers). */
export function pageToken(last: Pick<AlertRow, "startedAtMs" | "alertId">): string {
  return Buffer.from(`a:${last.startedAtMs}:${last.alertId}`).toString("base64url");
}

function pageAfter(token: string): { startedAtMs: number; alertId: string } | undefined {
  if (token === "") return undefined;
  const m = /^a:(\d{1,16}):(.+)$/s.exec(Buffer.from(token, "base64url").toString());
  if (m === null || !Number.isSafeInteger(Number(m[1]))) throw v.invalid("page_token", "not a token this service gave");
  return { startedAtMs: Number(m[1]), alertId: v.alertId(m[2]!, "page_token") };
}

/**
 * Who made a change: the caller's token name when the server checks tokens (a token cannot act in
 * someone else's name), else the request's `by` (required then).
 */
function authorOf(by: string, ctx: HandlerContext): string {
  const caller = ctx.values.get(CALLER);
  return caller !== undefined && caller.name !== "anonymous" ? caller.name : v.who(by);
}
