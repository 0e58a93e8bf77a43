import { describe, expect, it } from "vitest";
import type { ModelProvider, ProviderCall } from "../ports/gateway.js";
import { AsyncGatewayCaller } from "./async-caller.js";
import { gatewayConfigSchema } from "../config/schema-gateway.js";
import { defaultPrompts } from "../config/gateway-prompts.js";
import { UpstreamError } from "./errors.js";
import { createGateway } from "./gateway.js";
import { SimClock } from "../base/testing/sim-clock.js";

/** In-memory provider for unit tests: answers JSON explanations after `delayMs` on the sim clock. */
function memProvider(id: string, clock: SimClock, behaviour: { fail?: boolean; delayMs?: number } = {}): ModelProvider & { calls: ProviderCall[] } {
  const calls: ProviderCall[] = [];
  return {
    id,
    calls,
    complete: (call) =>
      new Promise((resolve, reject) => {
        calls.push(call);
        clock.setTimeout(() => {
          if (behaviour.fail) reject(new UpstreamError(`${id} down`));
          else resolve({ text: JSON.stringify({ summary: `${id} says hi`, likelyCause: "c", suggestedAction: "a" }), usage: { inputTokens: 100, outputTokens: 50 } });
        }, behaviour.delayMs ?? 10);
      }),
    embed: async (c) => ({ vectors: c.inputs.map(() => [1, 0]), usage: { inputTokens: 1, outputTokens: 0 } }),
  };
}

const spike = () => {
  const values = Array.from({ length: 32 }, (_, i) => 10 + Math.sin(i));
  values[31] = 30;
  return values;
};

function config(extra: Record<string, unknown> = {}) {
  const v = (model: string, fallback: string[] = []) => ({ ...defaultPrompts.explain.versions.v1, model, fallback });
  const provider = { kind: "openai", retry: { maxAttempts: 2, baseDelay: 10, maxDelay: 100 }, breaker: { failureThreshold: 2, open: 1_000 } };
  return gatewayConfigSchema.parse({
    providers: { a: provider, b: provider },
    models: { ma: { provider: "a", name: "model-a", inputUsdPer1M: 1, outputUsdPer1M: 2 }, mb: { provider: "b", name: "model-b" } },
    prompts: { explain: { versions: { v1: v("ma", ["mb"]), v2: v("mb") }, split: { v1: 50, v2: 50 } } },
    ...extra,
  });
}

describe("gateway core (simulated time)", () => {
  it("fails over along the chain to the next provider; A/B version and cost are recorded", async () => {
    const clock = new SimClock();
    const a = memProvider("a", clock, { fail: true });
    const b = memProvider("b", clock);
    const gw = createGateway({ config: config(), providers: new Map([["a", a], ["b", b]]), clock, random: () => 0.5 });
    const answers = [];
    for (let d = 0; d < 20; d++) {
      const p = gw.explain({ window: { deviceId: `dev-${d}`, metric: "m", values: spike() }, score: 0.99, context: { n: `x${"y".repeat(d)}` } });
      await clock.runAll();
      answers.push(await p);
    }
    const v1 = answers.filter((x) => x.model.promptVersion === "explain@v1");
    const v2 = answers.filter((x) => x.model.promptVersion === "explain@v2");
    expect(v1.length).toBeGreaterThan(0);
    expect(v2.length).toBeGreaterThan(0);
    expect(v1.every((x) => x.model.provider === "b" && x.model.degraded && x.model.degradedReason)).toBe(true);
    expect(v2.every((x) => x.model.provider === "b" && !x.model.degraded)).toBe(true);
    expect(b.calls[0]!.model).toBe("model-b");
    expect(gw.stats().providers.a!.breaker).toBe("open");
  });

  it("a deadline shorter than the provider's latency degrades to local with reason deadline", async () => {
    const clock = new SimClock();
    const a = memProvider("a", clock, { delayMs: 5_000 });
    const gw = createGateway({
      config: config({ prompts: { explain: { versions: { v1: { ...defaultPrompts.explain.versions.v1, model: "ma" } }, split: { v1: 1 } } } }),
      providers: new Map([["a", a]]),
      clock,
    });
    const p = gw.explain({ window: { deviceId: "d", metric: "m", values: spike() }, score: 0.99 }, { deadlineMs: clock.now() + 1_000 });
    await clock.runAll();
    const r = await p;
    expect(r.model).toMatchObject({ provider: "local", degraded: true, degradedReason: "deadline" });
  });

  it("setConfig switches prompts live (and keeps the period's spend)", async () => {
    const clock = new SimClock();
    const gw = createGateway({ config: config(), providers: new Map([["a", memProvider("a", clock)], ["b", memProvider("b", clock)]]), clock });
    gw.setConfig(gatewayConfigSchema.parse({}));
    const r = await gw.explain({ window: { deviceId: "d", metric: "m", values: spike() }, score: 0.99 });
    expect(r.model).toMatchObject({ provider: "local", degraded: false, promptVersion: "explain@v1" });
  });
});

describe("AsyncGatewayCaller", () => {
  it("never calls back inside submit, bounds in-flight and queue, overflows to local", async () => {
    const clock = new SimClock();
    const slow = createGateway({
      config: config({ prompts: { explain: { versions: { v1: { ...defaultPrompts.explain.versions.v1, model: "ma" } }, split: { v1: 1 } } } }),
      providers: new Map([["a", memProvider("a", clock, { delayMs: 2_000 })]]),
      clock,
    });
    const caller = new AsyncGatewayCaller({ gateway: slow, maxInFlight: 2, maxQueue: 3, clock });
    const got: string[] = [];
    let inside = true;
    for (let i = 0; i < 10; i++) {
      caller.submit({ op: "explain", req: { window: { deviceId: "d", metric: "m", values: spike() }, score: 0.99, context: { k: "v".repeat(i + 1) } } }, (err, r) => {
        expect(inside).toBe(false);
        got.push(err ? "error" : `${r!.model.provider}:${r!.model.degradedReason ?? "ok"}`);
      });
    }
    inside = false;
    expect(caller.stats()).toMatchObject({ inFlight: 2, queued: 3, overflowed: 5 });
    await clock.advance(1);
    expect(got).toEqual(Array(5).fill("local:overload"));
    await clock.runAll();
    await caller.drain();
    expect(got.filter((g) => g === "a:ok").length).toBe(5);
    const invalid = await caller.call({ op: "score", req: { window: { deviceId: "d", metric: "m", values: [] } } }).catch((e: Error) => e.message);
    expect(invalid).toBe("window.values must not be empty");
  });

  it("routes actor OutCalls for service gateway and resolves them by callId", async () => {
    const caller = new AsyncGatewayCaller({ gateway: createGateway({ config: gatewayConfigSchema.parse({}) }) });
    const results: Array<[number, boolean]> = [];
    const from = { type: "device", id: "d" };
    const window = { deviceId: "d", metric: "m", values: spike() };
    expect(caller.submitOutCall({ from, service: "gateway", method: "score", req: { window }, callId: 7 }, (id, r) => results.push([id, r.ok]))).toBe(true);
    expect(caller.submitOutCall({ from, service: "gateway", method: "nope", req: {}, callId: 8 }, (id, r) => results.push([id, r.ok]))).toBe(true);
    expect(caller.submitOutCall({ from, service: "other", method: "score", req: {}, callId: 9 }, () => results.push([9, true]))).toBe(false);
    await caller.drain();
    await new Promise((r) => setTimeout(r, 0));
    expect(results.sort()).toEqual([[7, true], [8, false]]);
  });
});
