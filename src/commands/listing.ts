import type { CommandCursor } from "../ports/commands.js";

/**
 * The order commands are listed in (ListCommands, docs/adr/0021-device-commands.md): newest first
 * by command id (ids are time-ordered), ties (the same id for two devices, 48 random bits apart)
 * broken by device id, descending too. A page continues strictly below the position of the last
 * command it showed (a keyset cursor), so commands sent meanwhile, being newer, never shift the
 * pages that follow, and a command whose status changed is neither shown twice nor skipped.
 */

/** Comparator for newest first: negative when `a` is listed before `b`. */
export function newestFirst(a: CommandCursor, b: CommandCursor): number {
  if (a.commandId !== b.commandId) return a.commandId < b.commandId ? 1 : -1;
  if (a.deviceId !== b.deviceId) return a.deviceId < b.deviceId ? 1 : -1;
  return 0;
}

/** True when `r` comes after the cursor in listing order (on a later page); always without a cursor. */
export function isAfter(r: CommandCursor, cursor: CommandCursor | undefined): boolean {
  return cursor === undefined || newestFirst(r, cursor) > 0;
}

/**
 * One page of a listing from the positions of every candidate (e.g. a store's keys): those after
 * `query.after` (and of `query.deviceId` when given), newest first, read `chunk` at a time with at
 * most `chunk` reads in flight, kept when `query.where` accepts them, until `query.limit` were kept.
 * A position whose record is gone by the time it is read (expired from the store) is skipped.
 */
export async function readPage<R extends CommandCursor>(
  positions: Iterable<CommandCursor>,
  query: { readonly deviceId?: string; readonly limit: number; readonly after?: CommandCursor; readonly where?: (r: R) => boolean },
  read: (position: CommandCursor) => Promise<R | undefined>,
  chunk = 64,
): Promise<R[]> {
  const candidates = [...positions].filter((p) => (query.deviceId === undefined || p.deviceId === query.deviceId) && isAfter(p, query.after)).sort(newestFirst);
  const out: R[] = [];
  for (let i = 0; i < candidates.length && out.length < query.limit; i += chunk) {
    const got = await Promise.all(candidates.slice(i, i + chunk).map(read));
    for (const r of got) {
      if (r !== undefined && (query.where === undefined || query.where(r))) out.push(r);
      if (out.length >= query.limit) break;
    }
  }
  return out;
}
