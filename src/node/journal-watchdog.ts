import type { Clock, TimerHandle } from "../ports/clock.js";
import type { IncidentReporter } from "../ports/incidents.js";
import type { JournalProbe, JournalRepair } from "../ports/journal-health.js";
import type { Log } from "../ports/log.js";
import { describeError } from "../base/errors.js";
import { assessJournal, assessPublishes, newJournalMemory, type PublishBacklog } from "./journal-assessment.js";

/** Collaborators and settings of a {@link JournalWatchdog}. */
export interface JournalWatchdogOptions {
  readonly probe: JournalProbe;
  readonly repair: JournalRepair;
  readonly incidents: IncidentReporter;
  readonly log: Log;
  readonly clock: Clock;
  /** Time between rounds, ms. Default 1000. */
  readonly intervalMs?: number;
  /** Partitions whose consumers this role depends on (the runtime: those it owns). Default none. */
  readonly partitions?: () => readonly number[];
  /**
   * Highest stream sequence this role has received of a partition (the runtime's pumps): a delivery
   * the journal made and the role never got is seen without waiting for later traffic.
   */
  readonly received?: (partition: number) => number | undefined;
  /**
   * Deliveries of a partition's consumer this role never got, counted by its source from gaps in
   * the delivery sequence (the runtime's pumps): a lost delivery seen at once, not after 15 rounds.
   */
  readonly skipped?: (partition: number) => number | undefined;
  /**
   * Messages of a partition this role has acknowledged so far (the runtime's pumps): a standing ack
   * floor is a lost delivery only while the role acknowledges later messages, not while it waits on
   * its store (see STUCK_ROUNDS).
   */
  readonly acked?: (partition: number) => number | undefined;
  /**
   * Restart these partitions' consumers after the stream sequence given (0 = from the start);
   * `streamReset`: the readings stream's sequences started again. Called after the repair.
   */
  readonly onReset?: (resets: ReadonlyMap<number, number>, streamReset: boolean) => Promise<void>;
  /** Publishes awaiting their acknowledgement (the bridge). */
  readonly publishes?: () => PublishBacklog;
  /** A publish unanswered this long is an incident, ms. Default 10 000. */
  readonly stallAfterMs?: number;
}

/**
 * Watches the journal from inside a role that holds NATS (bridge, runtime): every second it reads
 * the streams, the snapshot bucket and the role's consumers, reports what was lost as an incident
 * (loud: error log, metric, degraded health, platform event), re-creates what is missing and has
 * the role's partitions restart on the new sequence. Without it a journal server that came back on
 * an empty store left the bridge re-sending into nothing and the runtime pulling from nothing, with
 * no error anywhere. Rounds never overlap; a round whose facts cannot be read (server down) waits
 * for the next.
 */
export class JournalWatchdog {
  private readonly mem = newJournalMemory();
  private readonly pending = new Map<number, number>();
  private pendingStreamReset = false;
  private timer: TimerHandle | undefined;
  private round: Promise<void> = Promise.resolve();
  private running = false;
  private unreachableSince = 0;

  constructor(private readonly o: JournalWatchdogOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  /** Stop after the round in progress. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    await this.round;
  }

  /** One round: read, assess, report, repair, restart partitions. Never rejects. */
  check(): Promise<void> {
    this.round = this.round.then(() => this.doCheck());
    return this.round;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.o.clock.setTimeout(() => {
      void this.check().then(() => this.schedule());
    }, this.o.intervalMs ?? 1000);
  }

  private async doCheck(): Promise<void> {
    const { o } = this;
    if (o.publishes !== undefined) {
      const stall = assessPublishes(this.mem, o.publishes(), o.stallAfterMs ?? 10_000);
      if (stall !== undefined) o.incidents.report(stall);
    }
    const tracked = o.partitions?.() ?? [];
    let facts;
    try {
      facts = await o.probe.facts(tracked);
    } catch (e) {
      // The server is down or restarting: nothing to compare. Logged once per outage.
      if (this.unreachableSince === 0) {
        this.unreachableSince = o.clock.now();
        o.log.warn({ err: describeError(e) }, "journal watchdog cannot read the journal's state; retrying every round");
      }
      return;
    }
    if (this.unreachableSince !== 0) {
      o.log.info({ unreachableMs: o.clock.now() - this.unreachableSince }, "journal watchdog reads the journal's state again");
      this.unreachableSince = 0;
    }
    // Read after the facts: a delivery the journal counted before answering has had that long to arrive.
    const received = new Map<number, number>();
    const skipped = new Map<number, number>();
    const acked = new Map<number, number>();
    for (const p of tracked) {
      const seq = o.received?.(p);
      if (seq !== undefined) received.set(p, seq);
      const n = o.skipped?.(p);
      if (n !== undefined) skipped.set(p, n);
      const k = o.acked?.(p);
      if (k !== undefined) acked.set(p, k);
    }
    const a = assessJournal(this.mem, facts, tracked, received, skipped, acked);
    for (const i of a.incidents) o.incidents.report(i);
    for (const [p, after] of a.resets) this.pending.set(p, Math.min(after, this.pending.get(p) ?? after));
    this.pendingStreamReset ||= a.streamReset;
    if (a.repair && !(await this.repair())) return;
    await this.restartPending();
  }

  private async repair(): Promise<boolean> {
    try {
      await this.o.repair.repair();
      this.o.log.info("journal streams, consumers and bucket re-created");
      return true;
    } catch (e) {
      this.o.log.warn({ err: describeError(e) }, "journal repair failed; retrying next round");
      return false;
    }
  }

  private async restartPending(): Promise<void> {
    if (this.pending.size === 0 || this.o.onReset === undefined) {
      this.pending.clear();
      return;
    }
    const resets = new Map(this.pending);
    const streamReset = this.pendingStreamReset;
    this.pending.clear();
    this.pendingStreamReset = false;
    try {
      await this.o.onReset(resets, streamReset);
    } catch (e) {
      this.o.log.error({ err: describeError(e), partitions: [...resets.keys()] }, "partitions not restarted after a journal loss");
    }
  }
}

export type { PublishBacklog };
