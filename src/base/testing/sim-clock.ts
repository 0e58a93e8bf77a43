import type { Clock, TimerHandle } from "../../ports/clock.js";

interface SimTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * The simulated clock of unit tests (the only one): time moves only when a test moves it, timers
 * fire in time order (then in the order they were set), each callback sees its own time.
 * `advanceSync` runs callbacks synchronously (code whose timers do synchronous work: the actor
 * runtime); `advance` lets promise continuations run before, between and after timers (async code:
 * the model gateway's retries and limits).
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
    // Insert in (at, id) order.
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.at > timer.at) i--;
    this.timers.splice(i, 0, timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id?: number }).id;
    const i = this.timers.findIndex((x) => x.id === id);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.timers.length;
  }

  /** Move time forward by `ms`, running due callbacks synchronously in time order. */
  advanceSync(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers[0];
      if (next === undefined || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }

  /** Move time forward by `ms`, firing due timers in order and letting promise continuations run after each. */
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
