import { COMMAND_ID_RE } from "./ids.js";

/** Largest reply kept (its JSON text), bytes. */
export const MAX_REPLY_BYTES = 16 * 1024;
const MAX_REASON = 1024;
/**
 * Deepest nesting of arrays and objects kept in a reply. A reply is stored as JSON text and read
 * back by recursive code (JSON.stringify here, the console, the CLI): a 16 KiB reply can nest
 * 8,000 levels, deeper than they recurse before the stack runs out.
 */
export const MAX_REPLY_DEPTH = 64;

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
 * as the reason; anything else (no JSON object, `ok` not a boolean, larger than 16 KiB, nested
 * deeper than {@link MAX_REPLY_DEPTH} levels) fails as malformed; it never throws (the downlink
 * would leave a reply that throws unacknowledged, redelivered forever). The command id comes from
 * the MQTT 5 correlation data, or else the body's `commandId`.
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
  if (nestingDepth(text) > MAX_REPLY_DEPTH) return { commandId: id, ok: false, replyJson: "", reason: `malformed reply: nested deeper than ${MAX_REPLY_DEPTH} levels` };
  const replyJson = JSON.stringify(obj);
  if (typeof obj.ok !== "boolean") return { commandId: id, ok: false, replyJson, reason: 'malformed reply: no boolean "ok"' };
  if (obj.ok) return { commandId: id, ok: true, replyJson, reason: "" };
  const err = typeof obj.error === "string" && obj.error.trim() !== "" ? obj.error : "the device reported a failure";
  return { commandId: id, ok: false, replyJson, reason: err.slice(0, MAX_REASON) };
}

/** Deepest nesting of arrays and objects in valid JSON text (brackets outside strings), without recursion. */
function nestingDepth(json: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
