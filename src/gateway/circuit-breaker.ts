import type { Clock } from "../ports/clock.js";
import { CircuitOpenError } from "./errors.js";

/** Breaker states; as a gauge: closed 0, half_open 1, open 2. */
export type BreakerState = "closed" | "open" | "half_open";

export interface CircuitBreakerOptions {
  /** Name for errors and metrics (provider id). */
  readonly name: string;
  readonly clock: Clock;
  /** Consecutive failures that open the breaker. Default 5. */
  readonly failureThreshold?: number;
  /** How long it stays open before letting probes through, ms. Default 30 000. */
  readonly openMs?: number;
  /** Concurrent probe calls allowed while half-open. Default 1. */
  readonly halfOpenProbes?: number;
  /** Successful probes needed to close again. Default 1. */
  readonly successThreshold?: number;
  readonly onStateChange?: (state: BreakerState, prev: BreakerState) => void;
}

/**
 * Consecutive-failure circuit breaker. Closed: calls pass, failures count up, a success resets.
 * Open: calls fail fast with CircuitOpenError for `openMs`. Half-open: up to `halfOpenProbes`
 * calls pass; `successThreshold` successes close it, any failure re-opens it.
 */
export class CircuitBreaker {
  private st: BreakerState = "closed";
  private failures = 0;
  private successes = 0;
  private probes = 0;
  private openedAt = 0;
  private readonly failureThreshold: number;
  private readonly openMs: number;
  private readonly halfOpenProbes: number;
  private readonly successThreshold: number;

  constructor(private readonly opts: CircuitBreakerOptions) {
    this.failureThreshold = opts.failureThreshold ?? 5;
    this.openMs = opts.openMs ?? 30_000;
    this.halfOpenProbes = opts.halfOpenProbes ?? 1;
    this.successThreshold = opts.successThreshold ?? 1;
  }

  /** Current state (moves open → half_open lazily when `openMs` has passed). */
  get state(): BreakerState {
    if (this.st === "open" && this.opts.clock.now() - this.openedAt >= this.openMs) this.transition("half_open");
    return this.st;
  }

  /**
   * Ask to make a call. Throws CircuitOpenError when open (or half-open with all probes taken).
   * Every successful `enter` must be followed by exactly one `success()` or `failure()` (or `release()`
   * for outcomes that say nothing about the provider's health).
   */
  enter(): void {
    const s = this.state;
    if (s === "closed") return;
    if (s === "half_open" && this.probes < this.halfOpenProbes) {
      this.probes++;
      return;
    }
    const left = s === "open" ? this.openMs - (this.opts.clock.now() - this.openedAt) : this.openMs;
    throw new CircuitOpenError(this.opts.name, Math.max(0, left));
  }

  /** Record a success of a call let through by `enter`. */
  success(): void {
    if (this.st === "half_open") {
      this.probes = Math.max(0, this.probes - 1);
      if (++this.successes >= this.successThreshold) this.transition("closed");
      return;
    }
    this.failures = 0;
  }

  /** Record a failure (5xx, timeout, connection error) of a call let through by `enter`. */
  failure(): void {
    if (this.st === "half_open") {
      this.probes = Math.max(0, this.probes - 1);
      this.transition("open");
      return;
    }
    if (this.st === "closed" && ++this.failures >= this.failureThreshold) this.transition("open");
  }

  /** End a call without judging the provider (e.g. a 429 or a client-side abort). */
  release(): void {
    if (this.st === "half_open") this.probes = Math.max(0, this.probes - 1);
  }

  private transition(to: BreakerState): void {
    const prev = this.st;
    if (prev === to) return;
    this.st = to;
    this.failures = 0;
    this.successes = 0;
    this.probes = 0;
    if (to === "open") this.openedAt = this.opts.clock.now();
    this.opts.onStateChange?.(to, prev);
  }
}
