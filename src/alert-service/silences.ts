import { Code, ConnectError } from "@connectrpc/connect";
import type { Silence, SilenceStore } from "../ports/alerts.js";
import type { Clock } from "../ports/clock.js";

/** Who changed a silence, why and when (for the silences' history). */
export interface SilenceChangeInfo {
  readonly by: string;
  readonly reason: string;
  readonly atMs: number;
}

/** Called after each silence change is stored (the lead's wiring records it in the history). */
export type SilenceChangeHook = (silence: Silence, action: "created" | "deleted", change: SilenceChangeInfo) => void | Promise<void>;

export interface SilenceOpsDeps {
  readonly store: SilenceStore;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly onChange?: SilenceChangeHook | undefined;
  /** Where a failed hook goes (the change stands: the store has it). */
  readonly onHookError: (err: unknown) => void;
}

/** Silences through the SilenceStore, each change reported to the hook. Arguments arrive validated. */
export function createSilenceOps(d: SilenceOpsDeps) {
  const report = async (s: Silence, action: "created" | "deleted", change: SilenceChangeInfo) => {
    if (d.onChange === undefined) return;
    try {
      await d.onChange(s, action, change);
    } catch (e) {
      d.onHookError(e);
    }
  };
  return {
    async create(q: { deviceId: string; rule: string; durationMs: number; by: string; reason: string }): Promise<Silence> {
      const now = d.clock.now();
      const s: Silence = {
        id: d.newId(),
        ...(q.deviceId !== "" ? { deviceId: q.deviceId } : {}),
        ...(q.rule !== "" ? { rule: q.rule } : {}),
        untilMs: now + q.durationMs,
        createdAtMs: now,
        by: q.by,
        reason: q.reason,
      };
      await d.store.put(s);
      await report(s, "created", { by: q.by, reason: q.reason, atMs: now });
      return s;
    },

    /** Active ones (or all stored with `includeExpired`), newest first. */
    async list(includeExpired: boolean): Promise<Silence[]> {
      const now = d.clock.now();
      const all = (await d.store.list()).filter((s) => includeExpired || now < s.untilMs);
      return all.sort((a, b) => b.createdAtMs - a.createdAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    async remove(id: string, by: string, reason: string): Promise<Silence> {
      const s = (await d.store.list()).find((x) => x.id === id);
      if (s === undefined || !(await d.store.remove(id))) throw new ConnectError(`silence ${id}: not found`, Code.NotFound);
      await report(s, "deleted", { by, reason, atMs: d.clock.now() });
      return s;
    },
  };
}
