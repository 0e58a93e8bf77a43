import type { Clock } from "../ports/clock.js";
import type { Usage } from "../ports/gateway.js";
import { BudgetExhaustedError } from "./errors.js";

/** Price of a model in USD per million tokens. */
export interface Price {
  readonly inputUsdPer1M: number;
  readonly outputUsdPer1M: number;
}

/** Cost of one call in USD: tokens × price. */
export function costOf(usage: Usage, price: Price): number {
  return (usage.inputTokens * price.inputUsdPer1M + usage.outputTokens * price.outputUsdPer1M) / 1e6;
}

/** Rough token count of a text (≈ 4 characters per token), for reservations before a call. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4) + 4;
}

export interface BudgetOptions {
  /** USD allowed per period; Infinity disables the budget. */
  readonly usdPerPeriod: number;
  /** Length of a budget period, ms (e.g. a day). Periods are aligned to multiples of it. */
  readonly periodMs: number;
  readonly clock: Clock;
}

/** A reservation made before an upstream call; settle it with the actual cost (or 0 when it failed). */
export interface Reservation {
  settle(actualUsd: number): void;
}

/**
 * LLM spend ledger with a budget per period. A call first reserves its worst-case cost (input
 * estimate + max output tokens); the reservation fails with BudgetExhaustedError when spent +
 * reserved + estimate would exceed the budget, so concurrent calls cannot overshoot it. Settling
 * replaces the reservation with the actual cost.
 */
export class Budget {
  private periodStart: number;
  private spentUsd = 0;
  private reservedUsd = 0;
  /** Reservations refused since start (the throttle at work). */
  refused = 0;

  constructor(private readonly opts: BudgetOptions) {
    this.periodStart = this.alignedStart();
  }

  /** USD spent in the current period. */
  get spent(): number {
    this.roll();
    return this.spentUsd;
  }

  /** USD left in the current period (never negative; Infinity without a budget). */
  get remaining(): number {
    this.roll();
    return Math.max(0, this.opts.usdPerPeriod - this.spentUsd - this.reservedUsd);
  }

  /** Fraction of the budget used, 0..1 (0 without a budget). */
  get pressure(): number {
    if (!Number.isFinite(this.opts.usdPerPeriod)) return 0;
    this.roll();
    return this.opts.usdPerPeriod <= 0 ? 1 : Math.min(1, (this.spentUsd + this.reservedUsd) / this.opts.usdPerPeriod);
  }

  /** Reserve `estimateUsd` or throw BudgetExhaustedError (retry after the period rolls over). */
  reserve(estimateUsd: number): Reservation {
    this.roll();
    if (this.spentUsd + this.reservedUsd + estimateUsd > this.opts.usdPerPeriod) {
      this.refused++;
      const left = this.periodStart + this.opts.periodMs - this.opts.clock.now();
      throw new BudgetExhaustedError(
        `LLM budget of $${this.opts.usdPerPeriod} per ${this.opts.periodMs} ms is exhausted (spent $${this.spentUsd.toFixed(6)})`,
        { retryAfterMs: left },
      );
    }
    this.reservedUsd += estimateUsd;
    const start = this.periodStart;
    let settled = false;
    return {
      settle: (actualUsd: number) => {
        if (settled) return;
        settled = true;
        this.roll();
        // A reservation from an earlier period no longer counts against this one.
        if (start === this.periodStart) this.reservedUsd = Math.max(0, this.reservedUsd - estimateUsd);
        this.spentUsd += actualUsd;
      },
    };
  }

  private alignedStart(): number {
    const now = this.opts.clock.now();
    return now - (now % this.opts.periodMs);
  }

  private roll(): void {
    const start = this.alignedStart();
    if (start !== this.periodStart) {
      this.periodStart = start;
      this.spentUsd = 0;
      this.reservedUsd = 0;
    }
  }
}
