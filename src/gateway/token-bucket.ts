import type { Clock, TimerHandle } from "../ports/clock.js";
import { abortReason } from "./clock.js";
import { DeadlineExceededError, OverloadedError } from "./errors.js";

/** Options of a token bucket. */
export interface TokenBucketOptions {
  /** Refill rate in tokens per second (> 0). */
  readonly ratePerSec: number;
  /** Bucket capacity = largest burst (>= 1). Starts full. */
  readonly burst: number;
  readonly clock: Clock;
  /** Most callers allowed to wait; beyond it `take` fails with OverloadedError. Default 10 000. */
  readonly maxWaiters?: number;
}

interface Waiter {
  readonly n: number;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  readonly deadlineMs: number | undefined;
  done: boolean;
}

/**
 * Token-bucket rate limiter with a FIFO wait queue on an injected clock. Over any interval of
 * length T it admits at most `burst + ratePerSec * T` tokens (the invariant the tests measure).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly waiters: Waiter[] = [];
  private timer: TimerHandle | undefined;
  private readonly maxWaiters: number;

  constructor(private readonly opts: TokenBucketOptions) {
    if (!(opts.ratePerSec > 0)) throw new RangeError(`ratePerSec must be > 0, got ${opts.ratePerSec}`);
    if (!(opts.burst >= 1)) throw new RangeError(`burst must be >= 1, got ${opts.burst}`);
    this.tokens = opts.burst;
    this.last = opts.clock.now();
    this.maxWaiters = opts.maxWaiters ?? 10_000;
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Callers waiting for tokens. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Take `n` tokens now if possible (and nobody is queued ahead); returns whether it did. */
  tryTake(n = 1): boolean {
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= n) {
      this.tokens -= n;
      return true;
    }
    return false;
  }

  /**
   * Take `n` tokens, waiting in FIFO order. Rejects with DeadlineExceededError if the tokens cannot
   * be had before `deadlineMs` (decided up front, so no token is wasted), OverloadedError if the
   * queue is full, or the signal's reason when aborted.
   */
  take(n = 1, deadlineMs?: number, signal?: AbortSignal): Promise<void> {
    if (n > this.opts.burst) return Promise.reject(new RangeError(`cannot take ${n} tokens from a bucket of ${this.opts.burst}`));
    if (this.tryTake(n)) return Promise.resolve();
    if (this.waiters.length >= this.maxWaiters) return Promise.reject(new OverloadedError(`rate limiter queue full (${this.maxWaiters} waiting)`));
    if (deadlineMs !== undefined) {
      const queued = this.waiters.reduce((s, w) => s + w.n, 0);
      const etaMs = ((queued + n - this.tokens) / this.opts.ratePerSec) * 1000;
      if (this.opts.clock.now() + etaMs > deadlineMs) {
        return Promise.reject(new DeadlineExceededError(`rate limit wait of ${Math.ceil(etaMs)} ms exceeds the deadline`));
      }
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { n, resolve, reject, deadlineMs, done: false };
      if (signal) {
        if (signal.aborted) return reject(abortReason(signal));
        signal.addEventListener("abort", () => this.cancel(w, abortReason(signal)), { once: true });
      }
      this.waiters.push(w);
      this.schedule();
    });
  }

  private cancel(w: Waiter, err: Error): void {
    if (w.done) return;
    w.done = true;
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
    w.reject(err);
    this.schedule();
  }

  private refill(): void {
    const now = this.opts.clock.now();
    if (now > this.last) {
      this.tokens = Math.min(this.opts.burst, this.tokens + ((now - this.last) / 1000) * this.opts.ratePerSec);
      this.last = now;
    }
  }

  private schedule(): void {
    if (this.timer !== undefined) {
      this.opts.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.refill();
    while (this.waiters.length > 0 && this.tokens >= this.waiters[0]!.n) {
      const w = this.waiters.shift()!;
      this.tokens -= w.n;
      w.done = true;
      w.resolve();
    }
    const head = this.waiters[0];
    if (!head) return;
    // +1 ms absorbs rounding so the timer never fires a hair before the token exists.
    const waitMs = Math.ceil(((head.n - this.tokens) / this.opts.ratePerSec) * 1000) + 1;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, waitMs);
  }
}
