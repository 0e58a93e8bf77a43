import type { Clock } from "../ports/clock.js";
import type { Random } from "./clock.js";
import { sleep } from "../base/clock.js";
import { abortReason } from "./clock.js";
import type { GatewayError } from "./errors.js";
import { toGatewayError } from "./errors.js";
import { backoffMs } from "../base/backoff.js";

/** Retry policy (durations in ms). */
export interface RetryPolicy {
  /** Total attempts including the first (>= 1). Default 4. */
  readonly maxAttempts: number;
  /** Base of the exponential backoff. Default 200. */
  readonly baseDelayMs: number;
  /** Cap of one backoff delay (also caps an upstream Retry-After). Default 10 000. */
  readonly maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 10_000 };

export interface RetryDeps {
  readonly clock: Clock;
  readonly random: Random;
  /** Absolute deadline (clock ms): no retry is started whose wait would end after it. */
  readonly deadlineMs?: number;
  readonly signal?: AbortSignal;
  /** Called before each wait with the attempt that failed (1-based), its error and the delay. */
  readonly onRetry?: (attempt: number, err: GatewayError, delayMs: number) => void;
  /** Whether to retry this error (default: its `retryable` flag). */
  readonly shouldRetry?: (err: GatewayError) => boolean;
}

/**
 * Delay before retry number `attempt` (1-based: the delay after the first failure is attempt 1).
 * Full jitter: uniform in [0, min(max, base·2^(attempt-1))]. An upstream Retry-After is honoured as a
 * floor, plus up to one base delay of jitter so a herd told "retry in 2 s" does not return at once.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: Random, retryAfterMs?: number): number {
  const exp = backoffMs(attempt - 1, policy.baseDelayMs, policy.maxDelayMs);
  const jittered = random() * exp;
  if (retryAfterMs !== undefined && retryAfterMs > 0) {
    return Math.min(policy.maxDelayMs, retryAfterMs) + random() * policy.baseDelayMs;
  }
  return jittered;
}

/** Outcome of `retry`: the value and the number of attempts it took. */
export interface Retried<T> {
  readonly value: T;
  readonly attempts: number;
}

/**
 * Run `fn` until it succeeds, the error is not retryable, attempts run out, or the next wait would
 * pass the deadline. Rejects with the last error (a GatewayError); attaches `attempts` to it.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy, deps: RetryDeps): Promise<Retried<T>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await fn(attempt), attempts: attempt };
    } catch (e) {
      const err = toGatewayError(e);
      (err as { attempts?: number }).attempts = attempt;
      if (!(deps.shouldRetry ? deps.shouldRetry(err) : err.retryable) || attempt >= policy.maxAttempts || deps.signal?.aborted) throw err;
      const delay = backoffDelay(policy, attempt, deps.random, err.retryAfterMs);
      if (deps.deadlineMs !== undefined && deps.clock.now() + delay >= deps.deadlineMs) throw err;
      deps.onRetry?.(attempt, err, delay);
      await sleep(delay, deps.clock, deps.signal, abortReason);
    }
  }
}

/** Attempts recorded on an error thrown by `retry` (1 when unknown). */
export function attemptsOf(err: unknown): number {
  const a = (err as { attempts?: unknown } | null)?.attempts;
  return typeof a === "number" ? a : 1;
}
