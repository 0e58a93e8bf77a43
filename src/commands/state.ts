import type { CommandRecordInput, CommandStatus } from "../ports/commands.js";

/**
 * Which status may follow which (docs/adr/0021-device-commands.md). Pure: every status writer
 * (the command service, any bridge's downlink) applies one of these events to the record it read
 * and writes the result with compare-and-set, so each transition has exactly one writer.
 *
 * - Settled (acknowledged, failed, expired) is final: no event changes it.
 * - Nothing but expiry happens at or after `expiresAtMs`: any event then expires an open command.
 * - pending --accepted--> delivered; pending --no_subscribers--> pending (one attempt more);
 *   pending|delivered --refused--> failed; pending|delivered --replied--> acknowledged|failed;
 *   pending|delivered --expire (at/after expiresAtMs)--> expired.
 * - delivered never goes back to pending (a late "no subscribers" after a redelivery is ignored).
 */
export type CommandEvent =
  /** The broker took it for the device (PUBACK 0). */
  | { readonly kind: "accepted"; readonly atMs: number }
  /** The broker had no subscriber for it (PUBACK 16): the device is offline. */
  | { readonly kind: "no_subscribers"; readonly atMs: number }
  /** The broker refused it (another PUBACK reason code). */
  | { readonly kind: "refused"; readonly atMs: number; readonly reason: string }
  /** The device answered. */
  | { readonly kind: "replied"; readonly atMs: number; readonly ok: boolean; readonly replyJson: string; readonly reason: string }
  /** The TTL ran out (refused before `expiresAtMs`). */
  | { readonly kind: "expire"; readonly atMs: number };

const SETTLED: ReadonlySet<CommandStatus> = new Set<CommandStatus>(["acknowledged", "failed", "expired"]);

/** True for a final status (acknowledged, failed, expired). */
export function isSettled(status: CommandStatus): boolean {
  return SETTLED.has(status);
}

/** The record after `e`, or undefined when `e` changes nothing (a settled command, an early expiry, …). */
export function applyEvent(r: CommandRecordInput, e: CommandEvent): CommandRecordInput | undefined {
  if (isSettled(r.status)) return undefined;
  if (e.atMs >= r.expiresAtMs) return expired(r, e.atMs);
  switch (e.kind) {
    case "accepted":
      return { ...r, status: "delivered", attempts: r.attempts + 1, updatedAtMs: e.atMs };
    case "no_subscribers":
      return r.status === "pending" ? { ...r, attempts: r.attempts + 1, updatedAtMs: e.atMs } : undefined;
    case "refused":
      return { ...r, status: "failed", attempts: r.attempts + 1, reason: e.reason, updatedAtMs: e.atMs };
    case "replied":
      return { ...r, status: e.ok ? "acknowledged" : "failed", replyJson: e.replyJson, reason: e.ok ? "" : e.reason, updatedAtMs: e.atMs };
    case "expire":
      return undefined; // before expiresAtMs: nothing to do
  }
}

function expired(r: CommandRecordInput, atMs: number): CommandRecordInput {
  const reason = r.status === "pending" ? "the device did not come online within the TTL" : "no reply from the device within the TTL";
  return { ...r, status: "expired", reason, updatedAtMs: atMs };
}

/**
 * The record as readers should see it at `nowMs`: an open command past its expiry reads as expired
 * even before a bridge stored that (no bridge running, or the expiry not yet handled).
 */
export function viewAt<R extends CommandRecordInput>(r: R, nowMs: number): R {
  if (isSettled(r.status) || nowMs < r.expiresAtMs) return r;
  return { ...r, ...expired(r, r.expiresAtMs) };
}
