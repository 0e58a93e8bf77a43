import type { ClickHouseClient } from "@clickhouse/client";
import type { Clock, TimerHandle } from "../../ports/clock.js";
import type { Log } from "../../ports/log.js";
import { errorMessage } from "../../base/errors.js";
import { reconcileRollups } from "./rollups.js";
import { describeRetention, RetentionJob, type RetentionPolicy } from "./retention.js";
import { sqlRunner } from "./sql.js";

/** Options of {@link startReadModelJobs} (the `clickhouse.rollups` and `clickhouse.retention` settings). */
export interface ReadModelJobsOptions {
  readonly rollups: { readonly reconcileEveryMs: number; readonly reconcileWindowMs: number; readonly settleMs: number };
  readonly retention: { readonly checkEveryMs: number; readonly deleteEveryMs: number; readonly keepMs: RetentionPolicy };
}

/** The running jobs. */
export interface ReadModelJobs {
  close(): Promise<void>;
}

/**
 * The read model's periodic jobs of a runtime (docs/adr/0013-rollups-and-retention.md): the rollup
 * reconciler over the recent window, only while `reconcileHere()` (the owner of partition 0: two
 * reconcilers at once double a correction until the next pass undoes it), and retention, on every
 * runtime (idempotent). A job's next run is scheduled when the previous one ended; failures are logged.
 * Closes `client` on close.
 */
export function startReadModelJobs(client: ClickHouseClient, o: ReadModelJobsOptions, deps: { readonly clock: Clock; readonly log: Log; readonly reconcileHere: () => boolean }): ReadModelJobs {
  const db = sqlRunner(client);
  const { clock, log } = deps;
  const timers = new Set<TimerHandle>();
  const running = new Set<Promise<void>>();
  let closed = false;
  /** Run `job` `firstMs` after start, then `ms` (plus up to `jitter` of it) after each run ended. */
  const every = (firstMs: number, ms: number, jitter: number, job: () => Promise<void>) => {
    if (!(ms > 0)) return;
    const schedule = (delay: number) => {
      if (closed) return;
      const t = clock.setTimeout(() => {
        timers.delete(t);
        if (closed) return;
        const p = job().finally(() => {
          running.delete(p);
          schedule(ms + Math.floor(Math.random() * jitter * ms));
        });
        running.add(p);
      }, delay);
      timers.add(t);
    };
    schedule(firstMs);
  };
  const r = o.rollups;
  every(r.reconcileEveryMs, r.reconcileEveryMs, 0.1, async () => {
    if (!deps.reconcileHere()) return;
    const now = clock.now();
    // Readings older than their retention may be partly gone: never reconciled (when retention runs).
    const keepReadings = o.retention.checkEveryMs > 0 ? (o.retention.keepMs.readings ?? 0) : 0;
    try {
      const n = await reconcileRollups(db, now - r.reconcileWindowMs, now, { settleMs: r.settleMs, now: () => clock.now(), ...(keepReadings > 0 ? { notBeforeMs: now - keepReadings + 3_600_000 } : {}) });
      if (n > 0) log.info({ buckets: n, windowMs: r.reconcileWindowMs }, `rollups: ${n} buckets corrected to the deduplicated readings`);
    } catch (e) {
      log.warn({ err: errorMessage(e) }, "rollup reconciliation failed; trying again at the next run");
    }
  });
  const retention = new RetentionJob(db, { policy: o.retention.keepMs, checkEveryMs: o.retention.checkEveryMs, deleteEveryMs: o.retention.deleteEveryMs }, () => clock.now());
  // The first check a while after start (start-up has enough to do), then every checkEvery.
  every(Math.min(o.retention.checkEveryMs, 30_000 + Math.floor(Math.random() * 30_000)), o.retention.checkEveryMs, 0.05, async () => {
    try {
      const s = await retention.run();
      const fields = { dropped: s.dropped, deleted: s.deleted, busy: s.busy };
      if (s.dropped.length + s.deleted.length > 0) log.info(fields, `retention: ${describeRetention(s)}`);
      else log.debug(fields, `retention: ${describeRetention(s)}`);
    } catch (e) {
      log.warn({ err: errorMessage(e) }, "retention run failed; trying again at the next check");
    }
  });
  return {
    async close() {
      closed = true;
      for (const t of timers) clock.clearTimeout(t);
      timers.clear();
      await Promise.all([...running]);
      await client.close();
    },
  };
}
