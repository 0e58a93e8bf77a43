import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { arbJsonInput, arbProtoInput } from "../../fuzz/ingest/arbitraries.js";
import type { IngestInput } from "../../fuzz/ingest/contract.js";
import type * as Codec from "../../../src/domain/reading-codec.js";
import { checkInput } from "../../fuzz/ingest/oracle.js";
import { BridgeDrive } from "../../fuzz/ingest/bridge-drive.js";
import { NOW_MS } from "../../fuzz/ingest/contract.js";
import { systemClock } from "../../../src/base/clock.js";

/**
 * The ingest fuzzers' properties can fail: the codec (src/domain/reading-codec.ts) is replaced by
 * broken versions of itself ("mutants", each breaking one rule of docs/input-contract.md), and the
 * fuzzers, unaided, find inputs on which the oracle or the bridge-core drive reports a violation.
 * A fuzzer that passed with a mutant would be checking nothing about that rule.
 */
const mutant = vi.hoisted(() => ({ name: "none" as string }));

vi.mock("../../../src/domain/reading-codec.js", async (importOriginal) => {
  const real = await importOriginal<typeof Codec>();
  const text = new TextDecoder();
  const enc = new TextEncoder();
  const decodeReadings: typeof real.decodeReadings = (payload, id, limits, nowMs) => {
    switch (mutant.name) {
      case "coerces numeric strings":
        return real.decodeReadings(enc.encode(text.decode(payload).replace(/"(seq|tsMs)":"(\d+)"/g, '"$1":$2')), id, limits, nowMs);
      case "no time window":
        return real.decodeReadings(payload, id, limits, undefined);
      case "rejections without a reason": {
        const d = real.decodeReadings(payload, id, limits, nowMs);
        return d.ok ? d : { ...d, reason: "" };
      }
      case "oversized reported as malformed": {
        const d = real.decodeReadings(payload, id, limits, nowMs);
        return !d.ok && d.code === "oversized" ? { ...d, code: "malformed_json" } : d;
      }
      case "drops a batch's last reading": {
        const d = real.decodeReadings(payload, id, limits, nowMs);
        return d.ok && d.readings.length > 1 ? { ...d, readings: d.readings.slice(0, -1) } : d;
      }
      case "metrics NaN let through": {
        const d = real.decodeReadings(payload, id, limits, nowMs);
        return !d.ok && /NaN|finite/.test(d.reason) ? { ok: true, readings: [{ deviceId: id, seq: 0, tsMs: 1, metrics: { t: Number.NaN } }] } : d;
      }
      default:
        return real.decodeReadings(payload, id, limits, nowMs);
    }
  };
  return { ...real, decodeReadings };
});

const fixedClock = { now: () => NOW_MS, setTimeout: systemClock.setTimeout.bind(systemClock), clearTimeout: systemClock.clearTimeout.bind(systemClock) };

afterEach(() => {
  mutant.name = "none";
});

/** How many of `n` generated inputs the oracle reports a violation on. */
function violating(arb: fc.Arbitrary<IngestInput>, n: number): number {
  return fc.sample(arb, { seed: 42, numRuns: n }).filter((x) => checkInput(x).violations.length > 0).length;
}

describe("the ingest properties fail on a broken codec", () => {
  it("the real codec: no violation", () => {
    expect(violating(arbJsonInput, 1500) + violating(arbProtoInput, 500)).toBe(0);
  });

  const mutants: Array<[string, fc.Arbitrary<IngestInput>]> = [
    ["coerces numeric strings", arbJsonInput],
    ["no time window", arbJsonInput],
    ["rejections without a reason", arbProtoInput],
    ["oversized reported as malformed", arbJsonInput],
    ["drops a batch's last reading", arbJsonInput],
    ["metrics NaN let through", arbProtoInput],
  ];
  for (const [name, arb] of mutants) {
    it(`finds a codec that ${name}`, () => {
      mutant.name = name;
      expect(violating(arb, 1500)).toBeGreaterThan(0);
    });
  }

  it("the bridge-core drive reports messages that did not end as the contract says", async () => {
    const drive = new BridgeDrive(fixedClock);
    const ok = { topic: "devices/d-1/readings", payload: new TextEncoder().encode(JSON.stringify({ deviceId: "d-1", tsMs: NOW_MS, metrics: { t: 1 } })), profile: 0 };
    const bad = { ...ok, payload: new TextEncoder().encode("{") };
    expect((await drive.run([ok, bad], [{ readings: 1 }, { code: "malformed_json" }])).violations).toEqual([]);
    expect((await drive.run([ok, bad], [{ readings: 2 }, { code: "malformed_json" }])).violations).toEqual(["1 readings journaled, the contract accepts 2"]);
    expect((await drive.run([ok, bad], [{ code: "invalid_field" }, { code: "oversized" }])).violations).toHaveLength(3);
  });
});
