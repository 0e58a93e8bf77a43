import { backoffMs } from "../../base/backoff.js";
import { sleep } from "../../base/clock.js";
import { errorMessage } from "../../base/errors.js";

/**
 * Runs a JetStream administration request (create or update a stream or KV bucket) again while it
 * times out, for up to `budgetMs` (default 60 s). Creating a replicated stream needs the meta
 * leader and a placement on a cluster that may have just started or be busy: a request can outlast
 * the client's 5 s API timeout and succeed on the next try (it is idempotent). Other errors, and the
 * last timeout, are thrown.
 */
export async function retryOnTimeout<T>(op: () => Promise<T>, budgetMs = 60_000): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (!isTimeout(e) || Date.now() >= deadline) throw e;
      await sleep(backoffMs(attempt, 250, 4000));
    }
  }
}

/** A NATS request that got no answer in time (nats.js TimeoutError, or a "timeout" message). */
export function isTimeout(e: unknown): boolean {
  return (e as { name?: string } | null)?.name === "TimeoutError" || /\btime(d)? ?out\b/i.test(errorMessage(e));
}
