import { ShoalError } from "../base/errors.js";
import type { CommandListQuery, CommandRecord, CommandRecordInput, CommandStore } from "../ports/commands.js";
import { readPage } from "./listing.js";

/**
 * CommandStore in memory, with the KV store's semantics (revisions growing across all records,
 * compare-and-set transitions, newest first listing): for unit tests and single-process demos.
 */
export class MemoryCommandStore implements CommandStore {
  private readonly byKey = new Map<string, CommandRecord>();
  private revision = 0;
  /** Called inside `transition` between the read and the write: tests race writers with it. */
  beforeWrite: ((r: CommandRecord) => void) | undefined;

  async create(r: CommandRecordInput): Promise<CommandRecord> {
    const key = `${r.deviceId}.${r.commandId}`;
    if (this.byKey.has(key)) throw new ShoalError(`command ${r.commandId} exists already`, { code: "already_exists" });
    const rec = { ...r, revision: ++this.revision };
    this.byKey.set(key, rec);
    return rec;
  }

  async get(commandId: string, deviceId?: string): Promise<CommandRecord | undefined> {
    if (deviceId !== undefined) return this.byKey.get(`${deviceId}.${commandId}`);
    for (const r of this.byKey.values()) if (r.commandId === commandId) return r;
    return undefined;
  }

  /** Counts reads of records by list (tests check a filtered listing stops reading once the page is full). */
  listReads = 0;

  async list(query: CommandListQuery): Promise<CommandRecord[]> {
    return readPage([...this.byKey.values()], query, async (p) => {
      this.listReads++;
      return this.byKey.get(`${p.deviceId}.${p.commandId}`);
    }, this.chunk);
  }

  /** Records list reads at once (the KV store's is 64; tests make it small). */
  chunk = 64;

  async transition(deviceId: string, commandId: string, change: (current: CommandRecord) => CommandRecordInput | undefined): Promise<{ record: CommandRecord; changed: boolean } | undefined> {
    const key = `${deviceId}.${commandId}`;
    for (;;) {
      const cur = this.byKey.get(key);
      if (cur === undefined) return undefined;
      const next = change(cur);
      if (next === undefined) return { record: cur, changed: false };
      this.beforeWrite?.(cur);
      if (this.byKey.get(key)?.revision !== cur.revision) continue; // changed meanwhile: re-read
      const rec = { ...next, revision: ++this.revision };
      this.byKey.set(key, rec);
      return { record: rec, changed: true };
    }
  }

  /** Every record (tests). */
  all(): CommandRecord[] {
    return [...this.byKey.values()];
  }
}
