import { randomBytes } from "node:crypto";

/** Command ids: `<ms since epoch, base36, 9 digits>-<12 hex>` (ordered by time, then at random within a ms). */
export const COMMAND_ID_RE = /^[0-9a-z]{9}-[0-9a-f]{12}$/;

/**
 * A new command id made at `nowMs`: fixed-width base36 milliseconds first, so ids sort by creation
 * time as strings (a device's commands list newest first by key order), then 48 random bits so two
 * senders in the same millisecond do not collide. Valid as a NATS subject token and a KV key token.
 */
export function newCommandId(nowMs: number, random: () => Buffer = () => randomBytes(6)): string {
  return `${Math.max(0, Math.floor(nowMs)).toString(36).padStart(9, "0")}-${random().toString("hex").slice(0, 12).padStart(12, "0")}`;
}

/** When a command id was made (ms since epoch), or undefined for no command id. */
export function commandIdTime(id: string): number | undefined {
  return COMMAND_ID_RE.test(id) ? parseInt(id.slice(0, 9), 36) : undefined;
}
