import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Clock } from "../ports/clock.js";
import type { CommandQueue, CommandRecord, CommandRecordInput, CommandStore } from "../ports/commands.js";
import type { DeviceRegistry } from "../ports/device-registry.js";
import type { DeviceCommandService } from "../gen/shoal/v1/command_pb.js";
import { CALLER } from "../access/index.js";
import { errorMessage } from "../base/errors.js";
import { checkCommand, CommandInputError, newCommandId, viewAt } from "../commands/index.js";
import { guard } from "../grpc/guard.js";
import { commandOf } from "./convert.js";
import * as v from "./validate.js";

/** What the DeviceCommandService works with. */
export interface CommandServiceDeps {
  /** The status records (NATS KV `commands.bucket`). */
  readonly store: CommandStore;
  /** Where commands wait for the bridges (JetStream SHOAL_COMMANDS). */
  readonly queue: CommandQueue;
  readonly clock: Clock;
  /** The TTL of a command sent without one (`commands.ttl`), ms. */
  readonly defaultTtlMs: number;
  /**
   * With `registry.mode: strict`, the registry: a command to an unknown device is NOT_FOUND, to a
   * disabled one FAILED_PRECONDITION. Absent (open mode): any well-formed device id is taken.
   */
  readonly registry?: Pick<DeviceRegistry, "get">;
  /** Where unexpected errors go (callers see INTERNAL without them). */
  readonly onInternalError?: (method: string, err: unknown) => void;
  /** Ids of new commands. Default newCommandId(now). */
  readonly newId?: (nowMs: number) => string;
}

/**
 * shoal.v1.DeviceCommandService as a Connect implementation (docs/adr/0021-device-commands.md;
 * served over gRPC by src/grpc/connect-on-grpc.ts, see ./server.ts, and over HTTP by
 * src/grpc/web-server.ts).
 *
 * SendCommand checks the command (src/commands: INVALID_ARGUMENT naming the field), stores its
 * status record PENDING, then queues it; it answers once both are durable. When the queue fails
 * after the record was stored, the record is marked failed ("could not be queued") and the call is
 * UNAVAILABLE: retrying sends a new command. GetCommand and ListCommands read the records (ListCommands
 * one device's or the fleet's, newest first, keyset-paged, optionally by status); an open
 * command past its expiry reads as EXPIRED even before a bridge stored that. `sent_by` is the
 * caller's token name ("anonymous" when the server checks no tokens).
 */
export function createCommandService(d: CommandServiceDeps): ServiceImpl<typeof DeviceCommandService> {
  const onInternal = d.onInternalError ?? (() => {});
  const guarded = guard(onInternal, (e) => (e instanceof CommandInputError ? v.invalid(e.field, e.why) : undefined));
  const newId = d.newId ?? newCommandId;
  const view = (r: CommandRecord) => commandOf(viewAt(r, d.clock.now()));

  return {
    sendCommand: guarded(async (req, ctx) => {
      const ttl = Number(req.ttlMs);
      const c = checkCommand({ deviceId: req.deviceId, name: req.name, payloadJson: req.payloadJson, ttlMs: Number.isSafeInteger(ttl) ? ttl : -1 }, d.defaultTtlMs);
      if (d.registry !== undefined) {
        const dev = await d.registry.get(c.deviceId);
        if (dev === undefined) throw new ConnectError(`device ${c.deviceId}: not registered`, Code.NotFound);
        if (!dev.enabled) throw new ConnectError(`device ${c.deviceId} is disabled`, Code.FailedPrecondition);
      }
      const now = d.clock.now();
      const rec: CommandRecordInput = {
        commandId: newId(now),
        deviceId: c.deviceId,
        name: c.name,
        payloadJson: c.payloadJson,
        status: "pending",
        createdAtMs: now,
        expiresAtMs: now + c.ttlMs,
        updatedAtMs: now,
        replyJson: "",
        reason: "",
        sentBy: callerName(ctx),
        attempts: 0,
      };
      const stored = await d.store.create(rec);
      try {
        await d.queue.enqueue({ commandId: rec.commandId, deviceId: rec.deviceId, name: rec.name, payloadJson: rec.payloadJson, expiresAtMs: rec.expiresAtMs });
      } catch (e) {
        await d.store
          .transition(rec.deviceId, rec.commandId, (cur) => (cur.status === "pending" ? { ...cur, status: "failed", reason: "could not be queued (the stream was unavailable)", updatedAtMs: d.clock.now() } : undefined))
          .catch((e2: unknown) => onInternal("sendCommand", e2));
        throw new ConnectError(`unavailable, retry: command ${rec.commandId} could not be queued: ${errorMessage(e).slice(0, 200)}`, Code.Unavailable);
      }
      return { command: view(stored) };
    }),

    getCommand: guarded(async (req) => {
      const id = v.commandId(req.commandId);
      const r = await d.store.get(id);
      if (r === undefined) throw new ConnectError(`command ${id}: not found (unknown, or older than the command retention)`, Code.NotFound);
      return { command: view(r) };
    }),

    listCommands: guarded(async (req) => {
      const deviceId = req.deviceId === "" ? undefined : v.deviceId(req.deviceId);
      const size = v.pageSize(req.pageSize);
      const after = v.pageAfter(req.pageToken);
      const wanted = v.statuses(req.statuses);
      const now = d.clock.now();
      const got = await d.store.list({
        limit: size + 1,
        ...(deviceId === undefined ? {} : { deviceId }),
        ...(after === undefined ? {} : { after }),
        ...(wanted === undefined ? {} : { where: (r: CommandRecord) => wanted.has(viewAt(r, now).status) }),
      });
      const page = got.slice(0, size);
      return { commands: page.map(view), nextPageToken: got.length > size ? v.pageTokenOf(page[page.length - 1]!) : "" };
    }),
  };
}

/** Who sends: the caller's token name, "anonymous" when the server checks no tokens. */
function callerName(ctx: HandlerContext): string {
  return ctx.values.get(CALLER)?.name ?? "anonymous";
}
