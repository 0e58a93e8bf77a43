import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Webhook signatures (docs/adr/0016-alerts.md): `Shoal-Signature: sha256=<hex HMAC-SHA256(secret,
 * "<Shoal-Timestamp>.<body>")>`, the timestamp in ms since the epoch. A receiver recomputes it over
 * the raw body and rejects old timestamps (replays).
 */

/** Header names of a webhook request. */
export const SIGNATURE_HEADER = "Shoal-Signature";
export const TIMESTAMP_HEADER = "Shoal-Timestamp";
export const IDEMPOTENCY_HEADER = "Shoal-Idempotency-Key";

/** The `Shoal-Signature` value of `body` sent at `timestampMs`. */
export function signWebhook(secret: string, timestampMs: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestampMs}.${body}`).digest("hex")}`;
}

/** Options of {@link verifyWebhook}. */
export interface VerifyOptions {
  /** Now, ms since the epoch (default Date.now()). */
  readonly nowMs?: number;
  /** Largest accepted age (or lead) of the timestamp, ms. Default 5 minutes. */
  readonly toleranceMs?: number;
}

/**
 * True when `signature` is the signature of `body` at `timestamp` (the header's text) with `secret`
 * and the timestamp is within the tolerance of now (constant-time comparison).
 */
export function verifyWebhook(secret: string, timestamp: string, body: string, signature: string, opts: VerifyOptions = {}): boolean {
  if (!/^\d{1,16}$/.test(timestamp)) return false;
  const ts = Number(timestamp);
  if (Math.abs((opts.nowMs ?? Date.now()) - ts) > (opts.toleranceMs ?? 300_000)) return false;
  const want = Buffer.from(signWebhook(secret, ts, body));
  const got = Buffer.from(signature);
  return got.length === want.length && timingSafeEqual(got, want);
}
