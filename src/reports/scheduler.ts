import type { Clock } from "../ports/clock.js";
import type { Log } from "../ports/log.js";
import { sleep } from "../base/clock.js";
import { backoffMs } from "../base/backoff.js";
import { errorMessage } from "../base/errors.js";
import type { GenerateOutcome, ReportGenerator } from "./generator.js";
import { duePeriods, nextDueAt, reportIdOf } from "./periods.js";
import type { ReportStore } from "./report-store.js";
import type { ReportSchedule } from "./schedule.js";

/** Dependencies of the scheduler. */
export interface ReportSchedulerDeps {
  readonly store: ReportStore;
  readonly generator: Pick<ReportGenerator, "generate">;
  readonly clock: Clock;
  readonly log: Log;
  /** Told about every period handled (tests, metrics). */
  readonly onReport?: (schedule: string, outcome: GenerateOutcome) => void;
}

/** Options of the scheduler. */
export interface ReportSchedulerOptions {
  readonly schedules: readonly ReportSchedule[];
  /** Most missed periods per schedule generated after downtime (at least the newest due one). */
  readonly catchUpMax: number;
  /** Backoff after a failed loop, ms: base and cap. Defaults 1 000 and 60 000. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

/** Counters of the scheduler (over every time this process led). */
export interface ReportSchedulerStats {
  /** Reports generated and stored. */
  generated: number;
  /** Periods found stored already when their turn came. */
  existed: number;
  /** Failed attempts (each is retried at the next loop). */
  failures: number;
  /** Loops run (catch-up passes). */
  loops: number;
  /** When the last loop ended and what it waits for next (ms), 0 before. */
  idleUntilMs: number;
}

/**
 * What the leader does: per loop, reads the newest stored period of each schedule, generates the
 * missing due periods one at a time (oldest first, at most `catchUpMax` back), then sleeps until
 * the next period falls due. A failure is logged and counted and ends that schedule's pass (later
 * periods wait, so the newest stored one never skips a gap); the next loop comes after a backoff.
 * Nothing it meets ends the loop but the signal.
 */
export class ReportScheduler {
  readonly stats: ReportSchedulerStats = { generated: 0, existed: 0, failures: 0, loops: 0, idleUntilMs: 0 };

  constructor(
    private readonly d: ReportSchedulerDeps,
    private readonly o: ReportSchedulerOptions,
  ) {}

  /** Runs until `signal` is aborted (resolves then; never rejects). */
  async run(signal: AbortSignal): Promise<void> {
    for (let failed = 0; !signal.aborted; ) {
      this.stats.loops++;
      const ok = await this.pass(signal);
      if (signal.aborted) return;
      failed = ok ? 0 : failed + 1;
      const now = this.d.clock.now();
      const wait = ok ? Math.min(...this.o.schedules.map((s) => nextDueAt(s, now))) - now : backoffMs(failed - 1, this.o.retryBaseMs ?? 1_000, this.o.retryMaxMs ?? 60_000);
      this.stats.idleUntilMs = now + (Number.isFinite(wait) ? wait : 0);
      await sleep(Number.isFinite(wait) ? Math.max(1, wait) : 60_000, this.d.clock, signal).catch(() => {});
    }
  }

  /** One catch-up pass over every schedule; false when something failed. */
  private async pass(signal: AbortSignal): Promise<boolean> {
    let last: Map<string, number>;
    try {
      last = await this.d.store.lastPeriods(signal);
    } catch (e) {
      if (signal.aborted) return true;
      this.stats.failures++;
      this.d.log.warn({ err: errorMessage(e) }, "reports: could not read the stored reports; trying again");
      return false;
    }
    let ok = true;
    for (const s of this.o.schedules) {
      for (const from of duePeriods(s, last.get(s.name), this.d.clock.now(), this.o.catchUpMax)) {
        if (signal.aborted) return true;
        try {
          this.d.log.info({ schedule: s.name, reportId: reportIdOf(s.name, from) }, "reports: generating");
          const out = await this.d.generator.generate(s, from, signal);
          if (out.status === "written") this.stats.generated++;
          else this.stats.existed++;
          this.d.log.info({ schedule: s.name, reportId: out.reportId, status: out.status }, "reports: period done");
          this.d.onReport?.(s.name, out);
        } catch (e) {
          if (signal.aborted) return true;
          ok = false;
          this.stats.failures++;
          this.d.log.warn({ schedule: s.name, reportId: reportIdOf(s.name, from), err: errorMessage(e) }, "reports: report failed; tried again at the next loop");
          break;
        }
      }
    }
    return ok;
  }
}
