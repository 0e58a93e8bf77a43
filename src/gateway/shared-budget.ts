import { withTimeout } from "../base/clock.js";
import type { Clock } from "../ports/clock.js";
import type { Reservation } from "./cost.js";
import { Budget } from "./cost.js";
import { BudgetExhaustedError, GatewayError } from "./errors.js";

/**
 * Where gateway replicas keep their common LLM spend: one number per budget period, changed only
 * by atomic additions. Redis implements it with INCRBYFLOAT on a per-period key with a TTL.
 */
export interface SpendStore {
  /** Atomically add `deltaUsd` (may be negative) to `key`, (re)setting its TTL; resolves with the new total. */
  add(key: string, deltaUsd: number, ttlMs: number): Promise<number>;
}

/** The part of a node-redis client the Redis spend store needs. */
export interface RedisEvalClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

// INCRBYFLOAT and PEXPIRE in one round trip, atomically (the key never lives without a TTL).
const ADD_SCRIPT = "local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1]) redis.call('PEXPIRE', KEYS[1], ARGV[2]) return v";

/** A SpendStore over Redis; `client()` resolves a connected client (e.g. @keyv/redis `getClient()`). */
export function createRedisSpendStore(client: () => Promise<RedisEvalClient>): SpendStore {
  return {
    async add(key, deltaUsd, ttlMs) {
      const c = await client();
      const v = await c.eval(ADD_SCRIPT, { keys: [key], arguments: [deltaUsd.toFixed(12), String(Math.max(1, Math.ceil(ttlMs)))] });
      const n = Number(v);
      if (!Number.isFinite(n)) throw new GatewayError(`spend store returned ${String(v)}`, { code: "unavailable", retryable: true });
      return n;
    },
  };
}

/** What the gateway needs from a budget: reservations plus a (possibly slightly stale) view. */
export interface BudgetLedger {
  /** USD spent (and reserved, for a shared ledger) in the current period, as last seen. */
  readonly spent: number;
  readonly remaining: number;
  /** Fraction of the budget used, 0..1. */
  readonly pressure: number;
  /** Reservations refused since start. */
  readonly refused: number;
  /** Reserve `estimateUsd` or reject/throw BudgetExhaustedError. */
  reserve(estimateUsd: number): Reservation | Promise<Reservation>;
}

export interface SharedBudgetOptions {
  readonly usdPerPeriod: number;
  readonly periodMs: number;
  readonly clock: Clock;
  readonly store: SpendStore;
  /** Key prefix (the cache namespace); the key is `<prefix>:budget:<periodMs>:<periodStart>`. */
  readonly prefix: string;
  /** Called when the store fails (the ledger then falls back to this process's own view). */
  readonly onError?: ((err: unknown) => void) | undefined;
  /** A store operation slower than this counts as failed (the cache's `opTimeout`); 0 = no limit. */
  readonly opTimeoutMs?: number;
}

/**
 * Budget ledger shared by every gateway replica through a SpendStore (Redis). A reservation adds
 * the worst-case cost to the period's total atomically and backs it out if the total passed the
 * budget, so concurrent replicas cannot overshoot together; settling adds (actual − estimate).
 * Keys are per period and expire an hour after it ends. A replica that dies mid-call leaves its
 * reservation counted until the period ends (errs on spending less).
 *
 * If the store fails, the replica keeps going on a local ledger seeded with the last shared total it
 * saw (so during an outage each replica may spend up to what was left then); settlements that could
 * not be written are retried with the next successful write, and a write that timed out but landed
 * later is undone.
 */
export class SharedBudget implements BudgetLedger {
  private lastTotal = 0;
  private lastPeriod: number;
  private pendingUsd = 0;
  private readonly fallback: Budget;
  private seeded = 0;
  refused = 0;

  constructor(private readonly opts: SharedBudgetOptions) {
    this.lastPeriod = this.periodStart();
    this.fallback = new Budget({ usdPerPeriod: opts.usdPerPeriod, periodMs: opts.periodMs, clock: opts.clock });
  }

  get spent(): number {
    this.roll();
    return this.lastTotal;
  }

  get remaining(): number {
    this.roll();
    return Math.max(0, this.opts.usdPerPeriod - this.lastTotal);
  }

  get pressure(): number {
    if (!Number.isFinite(this.opts.usdPerPeriod)) return 0;
    this.roll();
    return this.opts.usdPerPeriod <= 0 ? 1 : Math.min(1, this.lastTotal / this.opts.usdPerPeriod);
  }

  async reserve(estimateUsd: number): Promise<Reservation> {
    const start = this.periodStart();
    let total: number;
    try {
      total = await this.add(start, estimateUsd);
    } catch (e) {
      this.opts.onError?.(e);
      return this.reserveLocally(estimateUsd);
    }
    if (total > this.opts.usdPerPeriod + 1e-12) {
      this.refused++;
      await this.add(start, -estimateUsd).catch((e: unknown) => this.opts.onError?.(e));
      throw new BudgetExhaustedError(
        `shared LLM budget of $${this.opts.usdPerPeriod} per ${this.opts.periodMs} ms is exhausted (all replicas: $${(total - estimateUsd).toFixed(6)})`,
        { retryAfterMs: start + this.opts.periodMs - this.opts.clock.now() },
      );
    }
    let settled = false;
    return {
      settle: (actualUsd: number) => {
        if (settled) return;
        settled = true;
        // A reservation of an earlier period is gone with its key; the actual spend counts now.
        const now = this.periodStart();
        const delta = now === start ? actualUsd - estimateUsd : actualUsd;
        this.add(now, delta).catch((e: unknown) => {
          this.pendingUsd += delta;
          this.opts.onError?.(e);
        });
      },
    };
  }

  private reserveLocally(estimateUsd: number): Reservation {
    if (this.lastTotal > this.seeded) {
      this.fallback.reserve(0).settle(this.lastTotal - this.seeded);
      this.seeded = this.lastTotal;
    }
    const local = this.fallback.reserve(estimateUsd); // throws BudgetExhaustedError when over
    return {
      settle: (actualUsd: number) => {
        local.settle(actualUsd);
        this.add(this.periodStart(), actualUsd).catch(() => (this.pendingUsd += actualUsd));
      },
    };
  }

  private async add(start: number, deltaUsd: number): Promise<number> {
    const pending = this.pendingUsd;
    const ttlMs = start + this.opts.periodMs - this.opts.clock.now() + 3_600_000;
    const key = `${this.opts.prefix}:budget:${this.opts.periodMs}:${start}`;
    const delta = deltaUsd + pending;
    const raw = this.opts.store.add(key, delta, ttlMs);
    let total: number;
    try {
      total = await this.bounded(raw);
    } catch (e) {
      // Treated as failed: if the write still lands later (a slow store), undo it exactly.
      raw.then(() => this.opts.store.add(key, -delta, ttlMs), () => undefined).catch((err: unknown) => this.opts.onError?.(err));
      throw e;
    }
    this.pendingUsd -= pending;
    if (start === this.periodStart()) {
      this.lastTotal = total;
      this.lastPeriod = start;
    }
    return total;
  }

  private bounded<T>(p: Promise<T>): Promise<T> {
    const ms = this.opts.opTimeoutMs ?? 0;
    return withTimeout(p, ms, this.opts.clock, `spend store operation exceeded ${ms} ms`);
  }

  private periodStart(): number {
    const now = this.opts.clock.now();
    return now - (now % this.opts.periodMs);
  }

  private roll(): void {
    const start = this.periodStart();
    if (start !== this.lastPeriod) {
      this.lastPeriod = start;
      this.lastTotal = 0;
      this.seeded = 0;
    }
  }
}
