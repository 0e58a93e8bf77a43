import type { JournalReader } from "../ports/journal-reader.js";
import type { SnapshotStore } from "../ports/snapshot-store.js";
import { toColumns } from "./effects.js";
import { CombinedRequestCrashedError, RecoveryError, WorkerCrashedError } from "./errors.js";
import type { ResolvedRuntimeOptions } from "./options.js";
import type { SnapshotWriter } from "./snapshot-writer.js";
import type { Req, Slot, WorkerChannel } from "./worker-slot.js";
import { sleep } from "../base/clock.js";
import { backoffMs } from "../base/backoff.js";

/** Dependencies of worker crash recovery. */
export interface WorkerRecoveryDeps {
  readonly channel: WorkerChannel;
  /** Replay floors of the partitions (where a rebuild's journal replay starts). */
  readonly writer: SnapshotWriter;
  readonly journal?: JournalReader;
  readonly options: Pick<ResolvedRuntimeOptions, "maxAttempts" | "backoffBaseMs" | "backoffMaxMs">;
  /** The pool is closed: stop retrying. */
  readonly isClosed: () => boolean;
  /** Where the runtime role keeps the partitions' pending timers (see RuntimeHost.pendingTimers). */
  readonly timers?: Pick<SnapshotStore, "readTimers">;
  /** Wall-clock time (the kept timers' `savedAtMs` clock). */
  readonly now: () => number;
}

/**
 * Replacement of crashed workers: the requests a dead worker held are failed (when they cannot be
 * redone) or re-run, a new worker is started, its partitions are rebuilt from snapshots plus a
 * state-only journal replay up to the last batch the old one returned, then the backlog runs.
 */
export class WorkerRecovery {
  /** Workers replaced after a crash since start. */
  restarts = 0;

  constructor(private readonly d: WorkerRecoveryDeps) {}

  /** A worker died: fail what cannot be redone, start a replacement, rebuild, re-run the rest. */
  onCrash(slot: Slot): void {
    this.restarts++;
    const held = [...slot.pending.values()];
    slot.pending.clear();
    const rerun: Req[] = [];
    const partitions = [...slot.partitions].sort((a, b) => a - b);
    for (const req of held) {
      req.crashes++;
      if (req.msg.t === "journal" && req.msg.packed.length > 1) {
        // Several partitions' batches together: the host runs each alone again, so one poison batch
        // cannot take the others down with it.
        req.reject(new CombinedRequestCrashedError(slot.index));
        continue;
      }
      const live = (req.msg.t === "deliver" && !req.msg.replay) || req.msg.t === "journal";
      if (live && req.crashes < this.d.options.maxAttempts) rerun.push(req);
      else req.reject(new WorkerCrashedError(slot.index, partitions, !live));
    }
    slot.backlog.unshift(...rerun);
    // Died during a recovery: that recovery's retry loop starts the next worker.
    if (slot.recovering !== null) return;
    slot.recovering = this.recoverSlot(slot, partitions).finally(() => {
      slot.recovering = null;
      const backlog = slot.backlog.splice(0);
      for (const req of backlog) this.d.channel.post(slot, req);
    });
  }

  /**
   * The dead worker's timers died with it: arm the ones last kept in the store for its partitions
   * (time since taken off; a timer a replayed turn re-armed wins); they stay kept there for a
   * later crash. Before the backlog runs, so a timer checkpoint waiting in it reads them back.
   */
  private async rearmKeptTimers(slot: Slot, partitions: readonly number[]): Promise<void> {
    const store = this.d.timers;
    if (store?.readTimers === undefined) return;
    for (const p of partitions) {
      const timers = await store.readTimers(p, this.d.now());
      if (timers.length === 0) continue;
      await new Promise<unknown>((resolve, reject) => this.d.channel.post(slot, { msg: { t: "timers", requestId: 0, partition: p, timers }, resolve, reject, crashes: 0 }));
    }
  }

  private async recoverSlot(slot: Slot, partitions: readonly number[]): Promise<void> {
    const { channel, writer, journal, options: o } = this.d;
    for (let attempt = 0; !this.d.isClosed(); attempt++) {
      try {
        await channel.spawn(slot);
        for (const p of partitions) {
          const to = slot.returnedHigh.get(p) ?? 0;
          const from = writer.replayFrom(p);
          if (journal === undefined || from > to) continue;
          for await (const envs of journal.read(p, from, to)) {
            if (envs.length === 0) continue;
            await new Promise<unknown>((resolve, reject) => channel.post(slot, { msg: { t: "deliver", requestId: 0, cols: toColumns(envs), replay: true }, resolve, reject, crashes: 0 }));
          }
        }
        await this.rearmKeptTimers(slot, partitions);
        return;
      } catch (err) {
        // Journal or store unavailable (or the replay crashed the worker): what was waiting is
        // rejected as retryable (nak), then try again with backoff.
        for (const req of slot.backlog.splice(0)) req.reject(new RecoveryError(partitions[0] ?? -1, { cause: err }));
        await slot.worker?.terminate();
        await sleep(backoffMs(attempt, o.backoffBaseMs, o.backoffMaxMs));
      }
    }
  }
}
