import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SEVERITIES, type AlertTransition } from "../../domain/alerts.js";
import { transitionOf } from "./alert-feed.js";

/** The alert feed's decoder (the feed itself runs on real NATS: test/integration/alert-service.test.ts). */
const transition: fc.Arbitrary<AlertTransition> = fc.record({
  alertId: fc.string({ minLength: 1 }),
  version: fc.integer({ min: 1, max: 2 ** 40 }),
  deviceId: fc.string({ minLength: 1 }),
  rule: fc.string(),
  metric: fc.string(),
  kind: fc.constantFrom("raised", "escalated", "flapping", "acknowledged", "resolved", "cleared"),
  state: fc.constantFrom("firing", "acknowledged", "resolved"),
  severity: fc.constantFrom(...SEVERITIES),
  atMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  startedAtMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  value: fc.double({ noNaN: true, noDefaultInfinity: true }),
  summary: fc.string(),
  by: fc.string(),
  reason: fc.string(),
  flapping: fc.boolean(),
});

describe("alert feed decoding", () => {
  it("decodes every transition the relay publishes (JSON of AlertTransition) to the same values", () => {
    fc.assert(
      fc.property(transition, (t) => {
        expect(transitionOf(JSON.parse(JSON.stringify(t)))).toEqual(JSON.parse(JSON.stringify(t)));
      }),
    );
  });

  it("rejects a message with a field missing or of the wrong type", () => {
    const INTEGERS = ["version", "atMs", "startedAtMs"];
    const keys = ["alertId", "version", "deviceId", "rule", "metric", "kind", "state", "severity", "atMs", "startedAtMs", "value", "summary", "by", "reason", "flapping"];
    fc.assert(
      fc.property(transition, fc.constantFrom(...keys), fc.constantFrom<unknown>(undefined, null, "1", 1.5, true, {}), (t, key, bad) => {
        const o: Record<string, unknown> = { ...t, [key]: bad };
        // Only a value of the field's own type passes: a boolean flag, a finite number, a whole number, a string.
        const valid = key === "flapping" ? bad === true : key === "value" ? bad === 1.5 : INTEGERS.includes(key) ? false : bad === "1";
        expect(transitionOf(o) === undefined).toBe(!valid);
      }),
    );
    expect(transitionOf(null)).toBeUndefined();
    expect(transitionOf("raised")).toBeUndefined();
  });
});
