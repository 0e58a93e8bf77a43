import type { Clock, TimerHandle } from "../../ports/clock.js";

/** The Clock port on Node's wall clock and timers. Timers do not keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h: TimerHandle) => clearTimeout(h as NodeJS.Timeout),
};
