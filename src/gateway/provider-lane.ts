import type { Clock } from "../ports/clock.js";
import type { ModelProvider } from "../ports/gateway.js";
import type { Random } from "./clock.js";
import { CircuitBreaker } from "./circuit-breaker.js";
import type { BreakerState } from "./circuit-breaker.js";
import { ConcurrencyLimiter } from "./concurrency-limiter.js";
import type { ProviderConfig } from "../config/schema-gateway.js";
import { DeadlineExceededError, GatewayError, UpstreamTimeoutError, toGatewayError } from "./errors.js";
import type { GatewayMetrics } from "./metrics.js";
import { retry } from "./retry.js";
import type { Retried } from "./retry.js";
import { TokenBucket } from "./token-bucket.js";
import { TokenWindow } from "./token-window.js";
import type { TokenLease } from "./token-window.js";

export interface ProviderLaneDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly metrics?: GatewayMetrics | undefined;
}

/** Options of one call through a lane. */
export interface LaneCallOptions {
  /** Operation and model key, for metrics. */
  readonly op: string;
  readonly model: string;
  readonly deadlineMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * Estimated tokens of one attempt (prompt heuristic + max output), charged against the
   * provider's tokens-per-minute limit before sending; default 0 (not limited by tokens).
   */
  readonly tokens?: number | undefined;
}

/** Per-call options that depend on the call's value type. */
export interface LaneCallTyped<T> extends LaneCallOptions {
  /** Tokens the provider reported for a successful attempt (its `usage`); replaces the estimate. */
  readonly usedTokens?: ((value: T) => number) | undefined;
}

/** Errors that say the provider is unhealthy (count towards the breaker). */
const unhealthy = new Set(["upstream", "timeout", "unavailable"]);

/**
 * Everything between the gateway and one provider: the provider's "actor". Each attempt passes the
 * circuit breaker, takes a rate-limit token (FIFO, bounded wait), charges its estimated tokens
 * against the tokens-per-minute window when one is configured (FIFO, bounded wait, corrected by the
 * reported usage afterwards), takes a concurrency slot (bounded queue) and runs under a per-attempt
 * timeout; failures are retried with jittered backoff honouring Retry-After, within the caller's
 * deadline. An open breaker fails fast (no retry) so the gateway moves on down the failover chain.
 */
export class ProviderLane {
  readonly breaker: CircuitBreaker;
  readonly bucket: TokenBucket;
  readonly limiter: ConcurrencyLimiter;
  /** Tokens-per-minute limiter; undefined when `rateLimit.tokensPerMinute` is 0 (off). */
  readonly tokenWindow: TokenWindow | undefined;

  constructor(
    readonly provider: ModelProvider,
    readonly cfg: ProviderConfig,
    private readonly deps: ProviderLaneDeps,
  ) {
    const id = provider.id;
    this.breaker = new CircuitBreaker({
      name: id,
      clock: deps.clock,
      ...cfg.breaker,
      onStateChange: (s: BreakerState) => deps.metrics?.setBreaker(id, s),
    });
    deps.metrics?.setBreaker(id, "closed");
    this.bucket = new TokenBucket({ ratePerSec: cfg.rateLimit.requestsPerSec, burst: cfg.rateLimit.burst, clock: deps.clock, maxWaiters: cfg.maxQueue });
    this.limiter = new ConcurrencyLimiter(cfg.maxConcurrency, cfg.maxQueue);
    const tpm = cfg.rateLimit.tokensPerMinute;
    this.tokenWindow = tpm > 0 ? new TokenWindow({ limit: tpm, windowMs: 60_000, clock: deps.clock, maxWaiters: cfg.maxQueue, name: id }) : undefined;
  }

  get id(): string {
    return this.provider.id;
  }

  /** Run `fn` against the provider with all protections; resolves with the value and attempts made. */
  call<T>(fn: (signal: AbortSignal) => Promise<T>, opts: LaneCallTyped<T>): Promise<Retried<T>> {
    const { clock, random } = this.deps;
    return retry((attempt) => this.attempt(fn, opts, attempt), this.cfg.retry, {
      clock,
      random,
      deadlineMs: opts.deadlineMs,
      signal: opts.signal,
      shouldRetry: (e) => e.retryable && e.code !== "circuit_open" && e.code !== "overloaded",
    });
  }

  private async attempt<T>(fn: (signal: AbortSignal) => Promise<T>, opts: LaneCallTyped<T>, _attempt: number): Promise<T> {
    const { metrics } = this.deps;
    const labels = { provider: this.id, model: opts.model, op: opts.op };
    try {
      this.breaker.enter();
    } catch (e) {
      metrics?.upstreamCalls.inc({ ...labels, result: "circuit_open" });
      throw e;
    }
    let judged = false;
    let release: (() => void) | undefined;
    let lease: TokenLease | undefined;
    try {
      await this.bucket.take(1, opts.deadlineMs, opts.signal);
      if (this.tokenWindow && (opts.tokens ?? 0) > 0) lease = await this.tokenWindow.take(opts.tokens!, opts.deadlineMs, opts.signal);
      release = await this.limiter.acquire(opts.signal);
      const value = await this.withTimeout(fn, opts);
      lease?.settle(opts.usedTokens?.(value) ?? lease.charged);
      this.breaker.success();
      judged = true;
      metrics?.upstreamCalls.inc({ ...labels, result: "ok" });
      return value;
    } catch (e) {
      const err = toGatewayError(e);
      // Not sent, or refused by the provider with 429 (not processed): refund the estimate. Other
      // failures (5xx, timeouts) may have consumed tokens upstream, so the estimate stays charged.
      if (release === undefined || err.status === 429) lease?.settle(0);
      if (release !== undefined) metrics?.upstreamCalls.inc({ ...labels, result: err.code });
      if (unhealthy.has(err.code)) {
        this.breaker.failure();
        judged = true;
      }
      throw err;
    } finally {
      release?.();
      if (!judged) this.breaker.release();
    }
  }

  private withTimeout<T>(fn: (signal: AbortSignal) => Promise<T>, opts: LaneCallOptions): Promise<T> {
    const { clock } = this.deps;
    const left = opts.deadlineMs === undefined ? Infinity : opts.deadlineMs - clock.now();
    if (left <= 0) return Promise.reject(new DeadlineExceededError());
    const byDeadline = left < this.cfg.timeoutMs;
    const ms = Math.min(left, this.cfg.timeoutMs);
    const ac = new AbortController();
    const onOuter = () => ac.abort(opts.signal!.reason);
    opts.signal?.addEventListener("abort", onOuter, { once: true });
    return new Promise<T>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        const err = byDeadline
          ? new DeadlineExceededError(`deadline reached while waiting for ${this.id}`)
          : new UpstreamTimeoutError(`${this.id} did not answer within ${this.cfg.timeoutMs} ms`);
        ac.abort(err);
        reject(err);
      }, ms);
      const done = () => {
        clock.clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onOuter);
      };
      fn(ac.signal).then(
        (v) => {
          done();
          resolve(v);
        },
        (e: unknown) => {
          done();
          // An abort we caused surfaces as our own error (already rejected above).
          reject(ac.signal.aborted && ac.signal.reason instanceof GatewayError ? ac.signal.reason : e);
        },
      );
    });
  }

  /** Snapshot for stats/metrics. */
  stats(): { breaker: BreakerState; inFlight: number; queued: number; rateWaiting: number; tokensInWindow: number; tokenWaiting: number } {
    return {
      breaker: this.breaker.state,
      inFlight: this.limiter.inFlight,
      queued: this.limiter.queued,
      rateWaiting: this.bucket.waiting,
      tokensInWindow: this.tokenWindow?.charged ?? 0,
      tokenWaiting: this.tokenWindow?.waiting ?? 0,
    };
  }
}
