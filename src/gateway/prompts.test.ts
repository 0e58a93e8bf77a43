import { describe, expect, it } from "vitest";
import { gatewayConfigSchema } from "../config/schema-gateway.js";
import { abBucket, renderTemplate, selectPrompt } from "./prompts.js";
import { patternSignature, shapeCode } from "./signature.js";

describe("config schema", () => {
  it("an empty object parses to a working all-local config", () => {
    const cfg = gatewayConfigSchema.parse({});
    expect(cfg.prompts.explain.versions.v1!.model).toBe("local");
    expect(cfg.listen.port).toBe(50_061);
    expect(cfg.providers).toEqual({});
  });

  it("durations take the project syntax in and come out as ...Ms", () => {
    const cfg = gatewayConfigSchema.parse({ providers: { p: { kind: "openai", timeout: "2s", retry: { baseDelay: 50 } } }, budget: { period: "1h" } });
    expect(cfg.providers.p!.timeoutMs).toBe(2_000);
    expect(cfg.providers.p!.retry).toEqual({ maxAttempts: 4, baseDelayMs: 50, maxDelayMs: 10_000 });
    expect(cfg.budget.periodMs).toBe(3_600_000);
    expect(cfg.deadlines.explainMs).toBe(60_000);
    const bad = gatewayConfigSchema.safeParse({ providers: { p: { kind: "openai", timeout: "2 weeks" } } });
    expect(bad.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([
      'providers.p.timeout: invalid duration "2 weeks" (expected a number of ms or a string like "250ms", "2s", "5m", "1h", "7d")',
    ]);
  });

  it("cross references are checked with exact messages", () => {
    const r = gatewayConfigSchema.safeParse({
      models: { m: { provider: "nope", name: "x" } },
      prompts: { explain: { versions: { v1: { model: "ghost", fallback: ["m", "gone"] } }, split: { v1: 1, v9: 1 } } },
    });
    expect(r.success).toBe(false);
    const issues = r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(issues).toEqual([
      'models.m.provider: unknown provider "nope" (known: local)',
      'prompts.explain.versions.v1.model: unknown model "ghost" (known: local, m)',
      'prompts.explain.versions.v1.fallback.1: unknown model "gone" (known: local, m)',
      'prompts.explain.split.v9: split names unknown version "v9"',
    ]);
  });
});

describe("A/B split", () => {
  const cfg = gatewayConfigSchema.parse({
    prompts: { explain: { versions: { a: { model: "local" }, b: { model: "local" } }, split: { a: 80, b: 20 } } },
  });
  it("is deterministic per device and close to the weights", () => {
    const counts = { a: 0, b: 0 } as Record<string, number>;
    for (let i = 0; i < 10_000; i++) counts[selectPrompt(cfg, "explain", `dev-${i}`).version]!++;
    expect(counts.a! / 10_000).toBeGreaterThan(0.75);
    expect(counts.a! / 10_000).toBeLessThan(0.85);
    expect(selectPrompt(cfg, "explain", "dev-7").version).toBe(selectPrompt(cfg, "explain", "dev-7").version);
    expect(abBucket("explain", "dev-7")).toBeLessThan(100);
  });
  it("records the prompt version", () => {
    expect(selectPrompt(cfg, "explain", "x").promptVersion).toMatch(/^explain@(a|b)$/);
  });
  it("renders {{vars}}", () => {
    expect(renderTemplate("{{a}}-{{ b }}-{{c}}", { a: 1, b: "x" })).toBe("1-x-");
  });
});

describe("pattern signature", () => {
  const opts = { segments: 8, levels: 8 };
  const base = Array.from({ length: 32 }, (_, i) => 20 + Math.sin(i / 3));
  it("same shape at another level/device → same signature; a different shape → different", () => {
    const spike = [...base.slice(0, 31), 40];
    const shifted = spike.map((v) => v + 100);
    const w = (values: number[], deviceId: string) => ({ deviceId, metric: "temp", values });
    const s1 = patternSignature({ op: "explain", promptVersion: "explain@v1", model: "m", window: w(spike, "a") }, opts);
    const s2 = patternSignature({ op: "explain", promptVersion: "explain@v1", model: "m", window: w(shifted, "b") }, opts);
    const s3 = patternSignature({ op: "explain", promptVersion: "explain@v1", model: "m", window: w(base, "a") }, opts);
    const s4 = patternSignature({ op: "explain", promptVersion: "explain@v2", model: "m", window: w(spike, "a") }, opts);
    expect(s1).toBe(s2);
    expect(s1).not.toBe(s3);
    expect(s1).not.toBe(s4);
    expect(shapeCode(spike, opts)).toMatch(/^[a-h]{8}:\d+$/);
  });
});
