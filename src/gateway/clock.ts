import { DeadlineExceededError } from "./errors.js";

/** Source of randomness in [0, 1) (injected so jitter is deterministic in tests). */
export type Random = () => number;

/**
 * The reason of an aborted signal as an Error (DeadlineExceededError when none was given): the
 * gateway's `onAbort` for `sleep` (src/base/clock.ts) and its waits. Timers and sleep are in src/base/clock.ts.
 */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error && r.name !== "AbortError") return r;
  return new DeadlineExceededError("aborted", { cause: r });
}
