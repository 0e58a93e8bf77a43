import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "./circuit-breaker.js";
import type { BreakerState } from "./circuit-breaker.js";
import { CircuitOpenError } from "./errors.js";
import { SimClock } from "../base/testing/sim-clock.js";

describe("CircuitBreaker", () => {
  it("opens after N consecutive failures, half-opens after openMs, closes on a good probe", async () => {
    const clock = new SimClock();
    const seen: BreakerState[] = [];
    const b = new CircuitBreaker({ name: "p", clock, failureThreshold: 3, openMs: 1_000, onStateChange: (s) => seen.push(s) });
    for (let i = 0; i < 2; i++) {
      b.enter();
      b.failure();
    }
    b.enter();
    b.success(); // resets the count
    for (let i = 0; i < 3; i++) {
      b.enter();
      b.failure();
    }
    expect(b.state).toBe("open");
    expect(() => b.enter()).toThrow(CircuitOpenError);
    await clock.advance(999);
    expect(b.state).toBe("open");
    await clock.advance(1);
    expect(b.state).toBe("half_open");
    b.enter(); // the probe
    expect(() => b.enter()).toThrow(CircuitOpenError); // only one probe
    b.success();
    expect(b.state).toBe("closed");
    expect(seen).toEqual(["open", "half_open", "closed"]);
  });

  it("a failed probe re-opens it for another openMs", async () => {
    const clock = new SimClock();
    const b = new CircuitBreaker({ name: "p", clock, failureThreshold: 1, openMs: 500 });
    b.enter();
    b.failure();
    await clock.advance(500);
    b.enter();
    b.failure();
    expect(b.state).toBe("open");
    try {
      b.enter();
    } catch (e) {
      expect((e as CircuitOpenError).retryAfterMs).toBe(500);
    }
  });

  it("release() frees a probe without judging", async () => {
    const clock = new SimClock();
    const b = new CircuitBreaker({ name: "p", clock, failureThreshold: 1, openMs: 10 });
    b.enter();
    b.failure();
    await clock.advance(10);
    b.enter();
    b.release();
    expect(b.state).toBe("half_open");
    b.enter();
    b.success();
    expect(b.state).toBe("closed");
  });
});
