import type { Clock, TimerHandle } from "../ports/clock.js";
import { abortReason } from "./clock.js";
import { GatewayError, RateLimitedError } from "./errors.js";

/** Options of a tokens-per-window limiter. */
export interface TokenWindowOptions {
  /** Most tokens charged in any window of `windowMs` (> 0), e.g. a provider's tokens per minute. */
  readonly limit: number;
  /** Window length, ms. Default 60 000 (tokens per minute). */
  readonly windowMs?: number;
  readonly clock: Clock;
  /** Most callers allowed to wait; beyond it `take` fails with rate_limited. Default 10 000. */
  readonly maxWaiters?: number;
  /** Names the limiter in error messages (the provider id). */
  readonly name?: string;
}

/**
 * What a successful `take` returns: the charge is an estimate made before the call, corrected by
 * `settle` with the tokens the provider reported (`usage`); 0 refunds it (the request never ran).
 */
export interface TokenLease {
  /** Tokens charged now. */
  readonly charged: number;
  /** Replace the estimate by `actual` tokens (once; later calls are ignored). */
  settle(actual: number): void;
}

interface Entry {
  readonly at: number;
  n: number;
}

interface Waiter {
  readonly n: number;
  readonly resolve: (lease: TokenLease) => void;
  readonly reject: (e: Error) => void;
  timer: TimerHandle | undefined;
  done: boolean;
}

/**
 * Sliding-window-log limiter of tokens (a provider's TPM limit). Every admitted request is logged
 * with its charge; a request is admitted when the charges of the last `windowMs` plus its own stay
 * within `limit`. Invariant (what the tests measure): over ANY window of `windowMs`, the charged
 * tokens never exceed `limit` — unlike a token bucket, which admits up to twice its capacity in a
 * window (full bucket + refill). Charges are estimates corrected after the call; an underestimate
 * (actual > charged) is charged in full and delays later requests, but can make that one window
 * exceed the limit by the difference, which is why estimates should err high (prompt + max output).
 *
 * Waiting is FIFO and bounded: a request that could not be admitted before its deadline is refused
 * up front (nothing is charged), a full queue refuses at once, and a waiter whose deadline passes
 * is rejected then; all with `rate_limited`.
 */
export class TokenWindow {
  private readonly entries: Entry[] = [];
  private used = 0;
  private readonly waiters: Waiter[] = [];
  private timer: TimerHandle | undefined;
  private readonly windowMs: number;
  private readonly maxWaiters: number;

  constructor(private readonly opts: TokenWindowOptions) {
    if (!(opts.limit > 0)) throw new RangeError(`limit must be > 0, got ${opts.limit}`);
    this.windowMs = opts.windowMs ?? 60_000;
    if (!(this.windowMs > 0)) throw new RangeError(`windowMs must be > 0, got ${this.windowMs}`);
    this.maxWaiters = opts.maxWaiters ?? 10_000;
  }

  /** Tokens charged in the current window. */
  get charged(): number {
    this.expire();
    return this.used;
  }

  /** Callers waiting. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Charge `n` tokens (an estimate), waiting in FIFO order until they fit in the window. Rejects
   * with a `rate_limited` GatewayError when `n` exceeds the limit (not retryable), when the queue is
   * full, or when the tokens could not be had before `deadlineMs` (decided up front, and again when
   * the deadline passes while waiting; `retryAfterMs` says when they could be); with the signal's
   * reason when aborted.
   */
  take(n: number, deadlineMs?: number, signal?: AbortSignal): Promise<TokenLease> {
    const name = this.opts.name ? `${this.opts.name}: ` : "";
    n = Math.max(0, Math.ceil(n));
    if (n > this.opts.limit) {
      return Promise.reject(new GatewayError(`${name}a request of ~${n} tokens can never fit a limit of ${this.opts.limit} tokens per ${this.windowMs} ms`, { code: "rate_limited", retryable: false }));
    }
    this.expire();
    if (this.waiters.length === 0 && this.used + n <= this.opts.limit) return Promise.resolve(this.admit(n));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const now = this.opts.clock.now();
    const eta = this.etaMs([...this.waiters.map((w) => w.n), n]);
    if (this.waiters.length >= this.maxWaiters) {
      return Promise.reject(new RateLimitedError(`${name}tokens-per-window queue full (${this.maxWaiters} waiting)`, { retryAfterMs: Math.max(0, eta - now) }));
    }
    if (deadlineMs !== undefined && eta > deadlineMs) {
      return Promise.reject(new RateLimitedError(`${name}token limit: ~${n} tokens would wait ${Math.ceil(eta - now)} ms, past the deadline`, { retryAfterMs: Math.max(0, eta - now) }));
    }
    return new Promise<TokenLease>((resolve, reject) => {
      const w: Waiter = { n, resolve, reject, timer: undefined, done: false };
      if (deadlineMs !== undefined) {
        w.timer = this.opts.clock.setTimeout(() => this.cancel(w, new RateLimitedError(`${name}token limit: deadline passed while waiting for ~${n} tokens`)), Math.max(0, deadlineMs - now));
      }
      signal?.addEventListener("abort", () => this.cancel(w, abortReason(signal)), { once: true });
      this.waiters.push(w);
      this.schedule();
    });
  }

  /**
   * When the last of `needs` would be admitted if the waiters ahead (FIFO) and current charges stand:
   * replays admission over the log with two pointers (O(entries + waiters)).
   */
  private etaMs(needs: readonly number[]): number {
    const log: Array<{ at: number; n: number }> = this.entries.map((e) => ({ at: e.at, n: e.n }));
    let t = this.opts.clock.now();
    let lo = 0;
    let sum = this.used;
    for (const need of needs) {
      while (sum + need > this.opts.limit) {
        const oldest = log[lo];
        if (!oldest) return Infinity;
        t = Math.max(t, oldest.at + this.windowMs);
        while (lo < log.length && log[lo]!.at <= t - this.windowMs) sum -= log[lo++]!.n;
      }
      log.push({ at: t, n: need });
      sum += need;
    }
    return t;
  }

  private admit(n: number): TokenLease {
    const entry: Entry = { at: this.opts.clock.now(), n };
    this.entries.push(entry);
    this.used += n;
    let settled = false;
    return {
      charged: n,
      settle: (actual: number) => {
        if (settled) return;
        settled = true;
        const next = Math.max(0, Math.ceil(actual));
        // Only a charge still inside the window counts (an expired one was already dropped).
        if (this.entries.includes(entry)) this.used += next - entry.n;
        entry.n = next;
        if (next < n) this.schedule();
      },
    };
  }

  private cancel(w: Waiter, err: Error): void {
    if (w.done) return;
    w.done = true;
    if (w.timer !== undefined) this.opts.clock.clearTimeout(w.timer);
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
    w.reject(err);
    this.schedule();
  }

  private expire(): void {
    const cutoff = this.opts.clock.now() - this.windowMs;
    let k = 0;
    while (k < this.entries.length && this.entries[k]!.at <= cutoff) this.used -= this.entries[k++]!.n;
    if (k > 0) this.entries.splice(0, k);
  }

  private schedule(): void {
    if (this.timer !== undefined) {
      this.opts.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.expire();
    while (this.waiters.length > 0 && this.used + this.waiters[0]!.n <= this.opts.limit) {
      const w = this.waiters.shift()!;
      w.done = true;
      if (w.timer !== undefined) this.opts.clock.clearTimeout(w.timer);
      w.resolve(this.admit(w.n));
    }
    if (this.waiters.length === 0 || this.entries.length === 0) return;
    // The head fits only once charges leave the window: wake when the oldest one does.
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, Math.max(0, this.entries[0]!.at + this.windowMs - this.opts.clock.now()));
  }
}
