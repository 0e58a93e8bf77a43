import type { Clock } from "../ports/clock.js";
import { DeadlineExceededError } from "./errors.js";

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
