import { COMMAND_ID_RE } from "../commands/index.js";
import { invalid, limit } from "../query/validate.js";

/**
 * Request validation of the DeviceCommandService beyond the command itself (src/commands checks
 * that): ids, page size, page tokens. Every bad argument is INVALID_ARGUMENT naming the field.
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

/** The opaque page token after a page whose last (oldest) command is `lastId`. */
export function pageTokenOf(lastId: string): string {
  return Buffer.from(`c:${lastId}`, "utf8").toString("base64url");
}

/** The command id a page continues below (undefined for ""); a token this service did not give is INVALID_ARGUMENT. */
export function pageBefore(token: string, field = "page_token"): string | undefined {
  if (token === "") return undefined;
  const text = Buffer.from(token, "base64url").toString("utf8");
  const id = text.startsWith("c:") ? text.slice(2) : "";
  if (!COMMAND_ID_RE.test(id) || pageTokenOf(id) !== token) throw invalid(field, "not a token this service gave");
  return id;
}
