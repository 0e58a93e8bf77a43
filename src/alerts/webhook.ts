import type { AlertTransition } from "../domain/alerts.js";
import type { Clock } from "../ports/clock.js";
import type { NotifiedMarks } from "./ports.js";
import type { StormSummary } from "./storm.js";
import { backoffMs } from "../base/backoff.js";
import { sleep, systemClock } from "../base/clock.js";
import { describeError } from "../base/errors.js";
import { TokenBucket } from "../gateway/token-bucket.js";
import { IDEMPOTENCY_HEADER, signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "./signature.js";

/** A webhook target (config `alerts.webhooks[]`). */
export interface WebhookTarget {
  /** Letters, digits, `_` and `-`: part of its idempotency keys and its counters. */
  readonly name: string;
  readonly url: string;
  /** HMAC key of `Shoal-Signature` (no signature without one). Never logged. */
  readonly secret?: string;
  /** Most requests a minute (waits, never drops; a burst of a tenth of it at most). */
  readonly ratePerMinute: number;
  /** Attempts before a dead letter (network errors, timeouts, 5xx and 429 are retried). */
  readonly maxAttempts: number;
  /** Timeout of one request, ms. */
  readonly timeoutMs: number;
  /** First retry delay, ms (doubling, at most a minute; a longer Retry-After is followed up to a minute). */
  readonly retryBaseMs: number;
}

/** The body of a webhook request. */
export interface Notification {
  /** `${alertId}:${version}`, the storm id (started) or `${stormId}:ended`. Also the idempotency key. */
  readonly id: string;
  readonly type: "transition" | "storm-started" | "storm-ended";
  readonly transition?: AlertTransition;
  readonly storm?: StormSummary;
}

/** How a send ended. */
export type SendResult =
  | { readonly outcome: "delivered"; readonly attempts: number }
  /** The target had it already (idempotency mark). */
  | { readonly outcome: "duplicate" }
  | { readonly outcome: "failed"; readonly attempts: number; readonly reason: string };

/** Counters of one target. */
export interface TargetStats {
  delivered: number;
  duplicates: number;
  retried: number;
  failed: number;
}

const MAX_RETRY_DELAY_MS = 60_000;

/**
 * Sends notifications to one target: skips what its idempotency mark says it has, waits for the
 * rate limit, POSTs the signed JSON, retries with backoff, and marks it after a 2xx. Never throws
 * for the target's failures (the result says "failed" with the reason); a failing mark store throws.
 */
export class WebhookSender {
  readonly stats: TargetStats = { delivered: 0, duplicates: 0, retried: 0, failed: 0 };
  private readonly bucket: TokenBucket;
  private readonly clock: Clock;
  private readonly fetchFn: typeof fetch;

  constructor(
    readonly target: WebhookTarget,
    private readonly marks: NotifiedMarks,
    opts: { readonly clock?: Clock; readonly fetch?: typeof fetch } = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.fetchFn = opts.fetch ?? fetch;
    const perSec = target.ratePerMinute / 60;
    this.bucket = new TokenBucket({ ratePerSec: perSec, burst: Math.max(1, Math.floor(target.ratePerMinute / 10)), clock: this.clock });
  }

  /** Delivers `n` once (see the class). `onRetry` hears each failed attempt that will be retried. */
  async send(n: Notification, onRetry?: (attempt: number, reason: string) => void): Promise<SendResult> {
    if (await this.marks.has(this.target.name, n.id)) {
      this.stats.duplicates++;
      return { outcome: "duplicate" };
    }
    const body = JSON.stringify(n);
    let reason = "";
    for (let attempt = 1; ; attempt++) {
      await this.bucket.take();
      const r = await this.attempt(n.id, body);
      if (r.ok) {
        await this.marks.mark(this.target.name, n.id);
        this.stats.delivered++;
        return { outcome: "delivered", attempts: attempt };
      }
      reason = r.reason;
      if (!r.retryable || attempt >= this.target.maxAttempts) {
        this.stats.failed++;
        return { outcome: "failed", attempts: attempt, reason };
      }
      this.stats.retried++;
      onRetry?.(attempt, reason);
      const wait = Math.max(backoffMs(attempt - 1, this.target.retryBaseMs, MAX_RETRY_DELAY_MS), Math.min(r.retryAfterMs ?? 0, MAX_RETRY_DELAY_MS));
      await sleep(wait, this.clock);
    }
  }

  private async attempt(id: string, body: string): Promise<{ ok: true } | { ok: false; retryable: boolean; reason: string; retryAfterMs?: number }> {
    const ts = this.clock.now();
    const headers: Record<string, string> = { "content-type": "application/json", [TIMESTAMP_HEADER]: String(ts), [IDEMPOTENCY_HEADER]: id };
    if (this.target.secret) headers[SIGNATURE_HEADER] = signWebhook(this.target.secret, ts, body);
    let res: Response;
    try {
      res = await this.fetchFn(this.target.url, { method: "POST", headers, body, signal: AbortSignal.timeout(this.target.timeoutMs), redirect: "manual" });
    } catch (e) {
      const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
      // The URL may carry a token (a path or query secret): never in a reason.
      return { ok: false, retryable: true, reason: timedOut ? `no answer within ${this.target.timeoutMs} ms` : describeError(e, 3).split(this.target.url).join("<url>") };
    }
    // The body is not needed: release the connection.
    await res.body?.cancel().catch(() => {});
    if (res.status >= 200 && res.status < 300) return { ok: true };
    const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
    const after = Number(res.headers.get("retry-after"));
    return { ok: false, retryable, reason: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`, ...(after > 0 ? { retryAfterMs: after * 1000 } : {}) };
  }
}
