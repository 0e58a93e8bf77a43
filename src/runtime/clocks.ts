import type { Clock, TimerHandle } from "../ports/clock.js";

/** The real clock (Date.now + setTimeout); unref'd so it never keeps a process alive. */
export function createSystemClock(): Clock {
  return {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const t = setTimeout(fn, ms);
      t.unref();
      return t;
    },
    clearTimeout(handle) {
      clearTimeout(handle as ReturnType<typeof setTimeout>);
    },
  };
}

interface SimTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** A simulated clock for tests: time moves only through `advance`/`runAll`. */
export interface SimClock extends Clock {
  /** Move time forward by `ms`, running due callbacks in time order (each sees its own time). */
  advance(ms: number): void;
  /** Callbacks scheduled and not yet run. */
  pending(): number;
}

/** Build a simulated clock starting at `startMs` (default 1_700_000_000_000). */
export function createSimClock(startMs = 1_700_000_000_000): SimClock {
  let now = startMs;
  let nextId = 1;
  const timers = new Map<number, SimTimer>();
  const due = (): SimTimer | undefined => {
    let best: SimTimer | undefined;
    for (const t of timers.values()) if (best === undefined || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
    return best;
  };
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.set(id, { id, at: now + Math.max(0, ms), fn });
      return id as TimerHandle;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const t = due();
        if (t === undefined || t.at > end) break;
        timers.delete(t.id);
        now = Math.max(now, t.at);
        t.fn();
      }
      now = end;
    },
    pending: () => timers.size,
  };
}
