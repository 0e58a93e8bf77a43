import { abortReason } from "./clock.js";
import { OverloadedError } from "./errors.js";

/**
 * Concurrency cap with a bounded FIFO queue: at most `max` holders at a time, at most `maxQueue`
 * waiting; beyond that `acquire` fails fast with OverloadedError (never an unbounded backlog).
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly queue: Array<{ resolve: (release: () => void) => void; reject: (e: Error) => void; done: boolean }> = [];

  constructor(
    readonly max: number,
    readonly maxQueue: number,
  ) {
    if (!(max >= 1)) throw new RangeError(`max concurrency must be >= 1, got ${max}`);
  }

  /** Current holders. */
  get inFlight(): number {
    return this.active;
  }
  /** Current waiters. */
  get queued(): number {
    return this.queue.length;
  }

  /** Wait for a slot; resolves with its release function (idempotent). */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.active < this.max && this.queue.length === 0) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.queue.length >= this.maxQueue) {
      return Promise.reject(new OverloadedError(`concurrency cap ${this.max} reached and ${this.maxQueue} queued`));
    }
    return new Promise((resolve, reject) => {
      const entry = { resolve, reject, done: false };
      if (signal) {
        if (signal.aborted) return reject(abortReason(signal));
        signal.addEventListener(
          "abort",
          () => {
            if (entry.done) return;
            entry.done = true;
            this.queue.splice(this.queue.indexOf(entry), 1);
            reject(abortReason(signal));
          },
          { once: true },
        );
      }
      this.queue.push(entry);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) {
        next.done = true;
        next.resolve(this.releaser());
      } else {
        this.active--;
      }
    };
  }
}
