import { describe, expect, it } from "vitest";
import { gatewayConfigSchema } from "./schema-gateway.js";

const TPM_RULE = "must be a whole number of tokens per minute ≥ 0 (0 = no limit)";

function issuesOf(rateLimit: unknown): Array<{ path: string; message: string }> {
  const r = gatewayConfigSchema.safeParse({ providers: { llm: { kind: "openai", rateLimit } } });
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}

describe("gateway config: providers.<id>.rateLimit.tokensPerMinute", () => {
  it("defaults to 0 (no token limit) next to the request bucket", () => {
    const cfg = gatewayConfigSchema.parse({ providers: { llm: { kind: "openai" } } });
    expect(cfg.providers.llm!.rateLimit).toEqual({ requestsPerSec: 10, burst: 20, tokensPerMinute: 0 });
  });

  it("accepts a whole number of tokens", () => {
    const cfg = gatewayConfigSchema.parse({ providers: { llm: { kind: "openai", rateLimit: { tokensPerMinute: 90_000 } } } });
    expect(cfg.providers.llm!.rateLimit.tokensPerMinute).toBe(90_000);
  });

  it.each([[-1], [1.5], ["90k"], [null]])("rejects %j with an exact message naming the field", (v) => {
    expect(issuesOf({ tokensPerMinute: v })).toEqual([{ path: "providers.llm.rateLimit.tokensPerMinute", message: TPM_RULE }]);
  });

  it("still rejects unknown rate-limit keys", () => {
    expect(issuesOf({ tokensPerMin: 10 })).toEqual([{ path: "providers.llm.rateLimit", message: 'Unrecognized key: "tokensPerMin"' }]);
  });
});
