import type { PartitionTimer } from "../ports/actor-host.js";
import type { Clock } from "../ports/clock.js";

/** What the checkpoints need of the host and the store. */
export interface TimerCheckpointDeps {
  pendingTimers(partition: number): Promise<readonly PartitionTimer[]>;
  putTimers(partition: number, timers: readonly PartitionTimer[], savedAtMs: number): Promise<void>;
  /** The partitions owned now (checked again before each one is saved). */
  owned(): readonly number[];
  clock: Clock;
  onError(partition: number, err: Error): void;
}

/**
 * Keeps each owned partition's pending timers (heartbeats) in the snapshot store every `everyMs`,
 * so that after a crash the next owner arms them (`readTimers` with the time since the save taken
 * off): a device that fell silent before its owner died is still reported offline. Timers armed
 * after the last save belong to devices that reported since, whose readings the replay applies
 * again, re-arming them. A graceful release writes the partition's timers itself: `quiesce` waits
 * for a save of that partition in progress, and a partition no longer owned is not saved again.
 */
export class TimerCheckpoints {
  private readonly busy = new Map<number, Promise<void>>();
  private handle: ReturnType<Clock["setTimeout"]> | null = null;
  private stopped = false;
  /** Saves made (partitions × rounds), for tests and metrics. */
  saves = 0;

  constructor(
    private readonly d: TimerCheckpointDeps,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.schedule();
  }

  /** Save `partition`'s timers now (one save per partition at a time). */
  save(partition: number): Promise<void> {
    const running = this.busy.get(partition);
    if (running !== undefined) return running;
    const run = (async () => {
      try {
        if (!this.d.owned().includes(partition)) return;
        const at = this.d.clock.now();
        const timers = await this.d.pendingTimers(partition);
        // Released meanwhile: the release wrote its own (newer) timers; do not overwrite them.
        if (this.stopped || !this.d.owned().includes(partition)) return;
        await this.d.putTimers(partition, timers, at);
        this.saves++;
      } catch (err) {
        this.d.onError(partition, err as Error);
      } finally {
        this.busy.delete(partition);
      }
    })();
    this.busy.set(partition, run);
    return run;
  }

  /** Wait until no save of `partition` is running (call once it is no longer owned). */
  async quiesce(partition: number): Promise<void> {
    await this.busy.get(partition);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.handle !== null) this.d.clock.clearTimeout(this.handle);
    this.handle = null;
    await Promise.all([...this.busy.values()]);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.handle = this.d.clock.setTimeout(() => {
      this.handle = null;
      void this.round().finally(() => this.schedule());
    }, this.everyMs);
  }

  private async round(): Promise<void> {
    for (const p of this.d.owned()) {
      if (this.stopped) return;
      await this.save(p);
    }
  }
}
