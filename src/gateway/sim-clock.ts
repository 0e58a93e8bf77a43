import type { Clock, TimerHandle } from "../ports/clock.js";

interface SimTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * Simulated clock for unit tests: time moves only through `advance`/`runAll`, timers fire in
 * order, and promise continuations run between timers so async code observes each step.
 */
export class SimClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: SimTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: ++this.seq, at: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id?: number }).id;
    this.timers = this.timers.filter((x) => x.id !== id);
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.timers.length;
  }

  /** Move time forward by `ms`, firing due timers in order and flushing microtasks after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    for (;;) {
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }

  /** Fire timers until none is left (or `maxMs` of simulated time passed). */
  async runAll(maxMs = 3_600_000): Promise<void> {
    const limit = this.t + maxMs;
    await flush();
    while (this.timers.length > 0 && this.timers[0]!.at <= limit) {
      await this.advance(this.timers[0]!.at - this.t);
    }
  }
}

/** Let pending promise continuations run (several macrotask-free rounds). */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
