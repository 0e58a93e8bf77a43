import { COMMAND_ID_RE } from "./ids.js";

/** Largest reply kept (its JSON text), bytes. */
export const MAX_REPLY_BYTES = 16 * 1024;
const MAX_REASON = 1024;

/** What a device's reply says. */
export interface ParsedReply {
  /** The command it answers (correlation data first, else the body's `commandId`); undefined: unknown. */
  readonly commandId: string | undefined;
  readonly ok: boolean;
  /** The reply as stored ("" when it was not JSON or too large). */
  readonly replyJson: string;
  /** Why it failed ("" when ok). */
  readonly reason: string;
}

/**
 * Read a reply: `{"ok":true,...}` acknowledges, `{"ok":false,"error":"..."}` fails with the error
 * as the reason; anything else (no JSON object, `ok` not a boolean, larger than 16 KiB) fails as
 * malformed. The command id comes from the MQTT 5 correlation data, or else the body's `commandId`.
 */
export function parseReply(correlation: string | undefined, payload: Uint8Array): ParsedReply {
  const text = Buffer.from(payload).toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const obj = typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  const fromBody = typeof obj?.commandId === "string" ? obj.commandId : undefined;
  const id = correlation !== undefined && COMMAND_ID_RE.test(correlation) ? correlation : fromBody !== undefined && COMMAND_ID_RE.test(fromBody) ? fromBody : undefined;
  if (payload.byteLength > MAX_REPLY_BYTES) return { commandId: id, ok: false, replyJson: "", reason: `malformed reply: larger than ${MAX_REPLY_BYTES} bytes` };
  if (obj === undefined) return { commandId: id, ok: false, replyJson: "", reason: "malformed reply: not a JSON object" };
  const replyJson = JSON.stringify(obj);
  if (typeof obj.ok !== "boolean") return { commandId: id, ok: false, replyJson, reason: 'malformed reply: no boolean "ok"' };
  if (obj.ok) return { commandId: id, ok: true, replyJson, reason: "" };
  const err = typeof obj.error === "string" && obj.error !== "" ? obj.error : "the device reported a failure";
  return { commandId: id, ok: false, replyJson, reason: err.slice(0, MAX_REASON) };
}
