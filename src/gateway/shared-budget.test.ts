import { describe, expect, it } from "vitest";
import { BudgetExhaustedError } from "./errors.js";
import { SharedBudget } from "./shared-budget.js";
import type { SpendStore } from "./shared-budget.js";
import { SimClock } from "../base/testing/sim-clock.js";

/** An in-memory SpendStore with Redis's semantics (atomic add, per-key TTL), optionally failing. */
function memoryStore(clock: SimClock) {
  const m = new Map<string, { v: number; exp: number }>();
  const calls: Array<{ key: string; delta: number; ttlMs: number }> = [];
  let down = false;
  const store: SpendStore = {
    async add(key, delta, ttlMs) {
      if (down) throw new Error("connection refused");
      calls.push({ key, delta, ttlMs });
      const cur = m.get(key);
      const v = (cur && cur.exp > clock.now() ? cur.v : 0) + delta;
      m.set(key, { v, exp: clock.now() + ttlMs });
      return v;
    },
  };
  return { store, m, calls, setDown: (d: boolean) => (down = d) };
}

const DAY = 86_400_000;

describe("SharedBudget (spend shared by gateway replicas)", () => {
  it("counts the spend of every replica against one budget; concurrent reservations cannot overshoot it", async () => {
    const clock = new SimClock(DAY * 20_000 + 1_000);
    const { store, m } = memoryStore(clock);
    const opts = { usdPerPeriod: 1, periodMs: DAY, clock, store, prefix: "gw" };
    const a = new SharedBudget(opts);
    const b = new SharedBudget(opts);
    // 2 replicas × 3 concurrent reservations of $0.3 against $1: exactly 3 fit.
    const outcomes = await Promise.allSettled([a, b, a, b, a, b].map((x) => x.reserve(0.3)));
    const ok = outcomes.filter((o) => o.status === "fulfilled");
    expect(ok).toHaveLength(3);
    expect(outcomes.filter((o) => o.status === "rejected").every((o) => (o as PromiseRejectedResult).reason instanceof BudgetExhaustedError)).toBe(true);
    expect(a.refused + b.refused).toBe(3);
    // Settling with the actual cost frees the rest of the reservation for everyone.
    for (const o of ok) (o as PromiseFulfilledResult<{ settle(u: number): void }>).value.settle(0.1);
    await clock.advance(0);
    const key = `gw:budget:${DAY}:${clock.now() - (clock.now() % DAY)}`;
    expect(m.get(key)!.v).toBeCloseTo(0.3, 12);
    (await b.reserve(0.6)).settle(0.6);
    await clock.advance(0);
    expect(a.remaining).toBeCloseTo(0.7, 9); // a's view is as of its last contact with the store...
    await a.reserve(0).then((r) => r.settle(0));
    expect(a.spent).toBeCloseTo(0.9, 9); // ...and includes b's spend after the next one
    expect(a.remaining).toBeCloseTo(0.1, 9);
    await expect(a.reserve(0.2)).rejects.toThrow(/shared LLM budget of \$1 per 86400000 ms is exhausted/);
  });

  it("uses a per-period key whose TTL ends an hour after the period, and starts afresh in the next period", async () => {
    const clock = new SimClock(DAY * 20_000 + DAY - 10_000);
    const { store, calls } = memoryStore(clock);
    const a = new SharedBudget({ usdPerPeriod: 1, periodMs: DAY, clock, store, prefix: "gw" });
    (await a.reserve(0.9)).settle(0.9);
    expect(calls[0]).toEqual({ key: `gw:budget:${DAY}:${DAY * 20_000}`, delta: 0.9, ttlMs: 10_000 + 3_600_000 });
    await expect(a.reserve(0.2)).rejects.toBeInstanceOf(BudgetExhaustedError);
    await clock.advance(10_000);
    expect(a.spent).toBe(0);
    await expect(a.reserve(0.2)).resolves.toBeDefined();
    expect(calls.at(-1)!.key).toBe(`gw:budget:${DAY}:${DAY * 20_001}`);
  });

  it("falls back to its own ledger (seeded with the last shared total) while the store is down, and writes that spend back later", async () => {
    const clock = new SimClock(DAY * 20_000);
    const { store, m, setDown } = memoryStore(clock);
    const errors: unknown[] = [];
    const a = new SharedBudget({ usdPerPeriod: 1, periodMs: DAY, clock, store, prefix: "gw", onError: (e) => errors.push(e) });
    (await a.reserve(0.5)).settle(0.5);
    setDown(true);
    (await a.reserve(0.3)).settle(0.3); // local: 0.5 seen + 0.3
    await expect(a.reserve(0.3)).rejects.toBeInstanceOf(BudgetExhaustedError); // 0.5 + 0.3 + 0.3 > 1
    expect(errors.length).toBeGreaterThan(0);
    setDown(false);
    (await a.reserve(0.1)).settle(0.1);
    await clock.advance(0);
    expect([...m.values()][0]!.v).toBeCloseTo(0.9, 9); // 0.5 + 0.3 written back + 0.1
  });
  it("undoes a write that timed out but landed later (no reservation leaks into the shared total)", async () => {
    const clock = new SimClock(DAY * 20_000);
    const { store: inner, m } = memoryStore(clock);
    let slowMs = 500;
    const store: SpendStore = {
      add: (k, d, ttl) => new Promise((resolve, reject) => void clock.setTimeout(() => inner.add(k, d, ttl).then(resolve, reject), slowMs)),
    };
    const a = new SharedBudget({ usdPerPeriod: 1, periodMs: DAY, clock, store, prefix: "gw", opTimeoutMs: 200 });
    const r = a.reserve(0.4);
    await clock.advance(200);
    const lease = await r; // timed out: reserved on the local ledger
    await clock.advance(300); // the slow write lands (+0.4), then its undo is sent...
    await clock.advance(500); // ...and lands (−0.4)
    expect([...m.values()][0]!.v).toBeCloseTo(0, 12);
    slowMs = 0;
    lease.settle(0.1); // the local spend is written back on the next successful write
    await clock.advance(0);
    expect([...m.values()][0]!.v).toBeCloseTo(0.1, 12);
  });
});
