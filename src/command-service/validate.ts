import type { CommandCursor, CommandStatus as Status } from "../ports/commands.js";
import { COMMAND_ID_RE } from "../commands/index.js";
import { DEVICE_ID_RE } from "../domain/reading-contract.js";
import { CommandStatus } from "../gen/shoal/v1/command_pb.js";
import { invalid, limit } from "../query/validate.js";

/**
 * Request validation of the DeviceCommandService beyond the command itself (src/commands checks
 * that): ids, page size, page tokens, status filters. Every bad argument is INVALID_ARGUMENT naming the field.
 */

export { deviceId, invalid } from "../query/validate.js";

export function commandId(v: string, field = "command_id"): string {
  if (v === "") throw invalid(field, "required");
  if (!COMMAND_ID_RE.test(v)) throw invalid(field, "not a command id this service gave");
  return v;
}

/** 1..1000, 0 = the default 100. */
export function pageSize(v: number, field = "page_size"): number {
  return limit(v, field, 100, 1000);
}

/** The opaque page token after a page whose last (oldest) command is `last`. */
export function pageTokenOf(last: CommandCursor): string {
  return Buffer.from(`c:${last.commandId}.${last.deviceId}`, "utf8").toString("base64url");
}

/**
 * Where a page continues (undefined for ""); a token this service did not give is INVALID_ARGUMENT.
 * A token of the first format (`c:<command id>`, device-only lists) continues below that command id.
 */
export function pageAfter(token: string, field = "page_token"): CommandCursor | undefined {
  if (token === "") return undefined;
  const text = Buffer.from(token, "base64url").toString("utf8");
  const [commandId = "", deviceId, ...rest] = text.startsWith("c:") ? text.slice(2).split(".") : [];
  const canonical = Buffer.from(text, "utf8").toString("base64url") === token;
  if (!COMMAND_ID_RE.test(commandId) || rest.length > 0 || !canonical || (deviceId !== undefined && !DEVICE_ID_RE.test(deviceId))) throw invalid(field, "not a token this service gave");
  return { commandId, deviceId: deviceId ?? "" };
}

const STATUS_NAMES: ReadonlyMap<CommandStatus, Status> = new Map([
  [CommandStatus.PENDING, "pending"],
  [CommandStatus.DELIVERED, "delivered"],
  [CommandStatus.ACKNOWLEDGED, "acknowledged"],
  [CommandStatus.FAILED, "failed"],
  [CommandStatus.EXPIRED, "expired"],
]);

/** The statuses of a status filter (undefined = any); UNSPECIFIED or an unknown value is INVALID_ARGUMENT. */
export function statuses(v: readonly CommandStatus[], field = "statuses"): ReadonlySet<Status> | undefined {
  if (v.length === 0) return undefined;
  return new Set(
    v.map((s) => {
      const name = STATUS_NAMES.get(s);
      if (name === undefined) throw invalid(field, `${s} is no command status (1..5: pending, delivered, acknowledged, failed, expired)`);
      return name;
    }),
  );
}
