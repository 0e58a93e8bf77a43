/** Exponential backoff: `baseMs · 2^attempt` capped at `maxMs` (attempt 0 waits `baseMs`). Jitter, if any, is the caller's. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** attempt);
}
