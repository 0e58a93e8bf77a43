import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signWebhook, verifyWebhook } from "./signature.js";

const SECRET = "a-secret-of-some-length";
const BODY = JSON.stringify({ id: "d-1/offline/1:1", type: "transition" });
const TS = 1_800_000_000_123;

describe("webhook signature", () => {
  it("is sha256=<hex HMAC-SHA256(secret, `${timestamp}.${body}`)>", () => {
    const want = createHmac("sha256", SECRET).update(`${TS}.${BODY}`).digest("hex");
    expect(signWebhook(SECRET, TS, BODY)).toBe(`sha256=${want}`);
  });

  it("verifies with the secret, the timestamp and the exact body", () => {
    const sig = signWebhook(SECRET, TS, BODY);
    expect(verifyWebhook(SECRET, String(TS), BODY, sig, { nowMs: TS + 1000 })).toBe(true);
    expect(verifyWebhook("another-secret-entirely", String(TS), BODY, sig, { nowMs: TS })).toBe(false);
    expect(verifyWebhook(SECRET, String(TS + 1), BODY, sig, { nowMs: TS })).toBe(false);
    expect(verifyWebhook(SECRET, String(TS), `${BODY} `, sig, { nowMs: TS })).toBe(false);
    expect(verifyWebhook(SECRET, String(TS), BODY, sig.slice(0, -1), { nowMs: TS })).toBe(false);
    expect(verifyWebhook(SECRET, "12ab", BODY, sig, { nowMs: TS })).toBe(false);
  });

  it("rejects a timestamp outside the tolerance (a replayed request)", () => {
    const sig = signWebhook(SECRET, TS, BODY);
    expect(verifyWebhook(SECRET, String(TS), BODY, sig, { nowMs: TS + 300_001 })).toBe(false);
    expect(verifyWebhook(SECRET, String(TS), BODY, sig, { nowMs: TS + 60_000, toleranceMs: 59_999 })).toBe(false);
    expect(verifyWebhook(SECRET, String(TS), BODY, sig, { nowMs: TS + 300_000 })).toBe(true);
  });
});
