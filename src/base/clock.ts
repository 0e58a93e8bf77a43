import type { Clock, TimerHandle } from "../ports/clock.js";
import { ShoalError } from "./errors.js";

/** The Clock port on Node's wall clock and timers. Timers are unref'd: they never keep a process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h: TimerHandle) => clearTimeout(h as NodeJS.Timeout),
};

/** The error an aborted wait rejects with: the signal's reason when it is an Error (not a bare AbortError). */
export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error && r.name !== "AbortError") return r;
  return new Error("aborted", { cause: r });
}

/**
 * Wait `ms` on `clock` (the one sleep of the code base). With `signal`, rejects when it is aborted,
 * with `onAbort(signal)` (default {@link abortError}). Resolves at once (next microtask) for `ms <= 0`.
 */
export function sleep(ms: number, clock: Clock = systemClock, signal?: AbortSignal, onAbort: (s: AbortSignal) => Error = abortError): Promise<void> {
  if (signal?.aborted) return Promise.reject(onAbort(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const abort = () => {
      clock.clearTimeout(handle);
      reject(onAbort(signal!));
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", abort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", abort, { once: true });
  });
}

/**
 * `p`, or a rejection with a ShoalError(message, code "timeout", retryable) after `ms` on `clock` if it has not settled by then
 * (`ms` ≤ 0: `p` unbounded). For calls to stores that may hang (Redis, Keyv) on a path that must not.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, clock: Clock, message: string): Promise<T> {
  if (!(ms > 0)) return p;
  return new Promise<T>((resolve, reject) => {
    const t = clock.setTimeout(() => reject(new ShoalError(message, { code: "timeout", retryable: true })), ms);
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

/** Milliseconds left until `deadlineMs` on `clock` (Infinity without a deadline, never negative). */
export function remainingMs(clock: Clock, deadlineMs: number | undefined): number {
  return deadlineMs === undefined ? Infinity : Math.max(0, deadlineMs - clock.now());
}

/**
 * Wall time in ms since the epoch with sub-millisecond precision (for spans measured in a thread
 * with no tracer; `Clock.now()` is whole milliseconds and may be a test's clock).
 */
export function preciseNowMs(): number {
  return performance.timeOrigin + performance.now();
}
