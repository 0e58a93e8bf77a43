import type { Clock } from "../ports/clock.js";
import { DeadlineExceededError } from "./errors.js";

/** The real clock (Date.now + global timers). Timers are unref'd so they never hold the process open. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * `p`, or a rejection with `Error(message)` after `ms` on `clock` if it has not settled by then
 * (`ms` ≤ 0: `p` unbounded). For calls to stores that may hang (Redis, Keyv) on a path that must not.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, clock: Clock, message: string): Promise<T> {
  if (!(ms > 0)) return p;
  return new Promise<T>((resolve, reject) => {
    const t = clock.setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => {
        clock.clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clock.clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** Source of randomness in [0, 1) (injected so jitter is deterministic in tests). */
export type Random = () => number;

/**
 * Wait `ms` on `clock`. Rejects with the signal's reason when aborted.
 * Resolves immediately (next microtask) for `ms <= 0`.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(abortReason(signal!));
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The reason of an aborted signal as an Error (DeadlineExceededError when none was given). */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error && r.name !== "AbortError") return r;
  return new DeadlineExceededError("aborted", { cause: r });
}

/** Milliseconds left until `deadlineMs` (Infinity without a deadline, never negative). */
export function remainingMs(clock: Clock, deadlineMs: number | undefined): number {
  return deadlineMs === undefined ? Infinity : Math.max(0, deadlineMs - clock.now());
}
