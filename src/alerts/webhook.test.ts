import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "../ports/clock.js";
import type { AlertTransition } from "../domain/alerts.js";
import type { NotifiedMarks } from "./ports.js";
import { systemClock } from "../base/clock.js";
import { SimClock } from "../base/testing/sim-clock.js";
import { startWebhookReceiver, type WebhookReceiver } from "../../test/harness/webhook-receiver.js";
import { verifyWebhook } from "./signature.js";
import { WebhookSender, type Notification, type WebhookTarget } from "./webhook.js";

const T: AlertTransition = { alertId: "pump-7/offline/3", version: 2, deviceId: "pump-7", rule: "offline", metric: "", kind: "cleared", state: "resolved", severity: "warning", atMs: 1_800_000_000_000, startedAtMs: 1_799_999_000_000, value: 0, summary: "back", by: "", reason: "", flapping: false };
const NOTE: Notification = { id: `${T.alertId}:${T.version}`, type: "transition", transition: T };
const SECRET = "s3cret-s3cret-s3cret";

/** Marks in a map. */
function memoryMarks(): NotifiedMarks & { keys: Set<string> } {
  const keys = new Set<string>();
  return { keys, has: async (t, id) => keys.has(`${t}|${id}`), mark: async (t, id) => void keys.add(`${t}|${id}`) };
}

/** The wall clock, but every wait is recorded and lasts 1 ms (backoff delays are asserted, not waited). */
function recordingClock(): Clock & { waits: number[] } {
  const waits: number[] = [];
  return { waits, now: () => Date.now(), setTimeout: (fn, ms) => (waits.push(ms), systemClock.setTimeout(fn, 1)), clearTimeout: (h) => systemClock.clearTimeout(h) };
}

const target = (url: string, o: Partial<WebhookTarget> = {}): WebhookTarget => ({ name: "ops", url, secret: SECRET, ratePerMinute: 60_000, maxAttempts: 4, timeoutMs: 5_000, retryBaseMs: 250, ...o });

describe("WebhookSender (a real HTTP receiver)", () => {
  let rx: WebhookReceiver;
  beforeAll(async () => {
    rx = await startWebhookReceiver();
  });
  afterAll(() => rx.close());
  beforeEach(() => {
    rx.requests.length = 0;
    rx.failNext(0);
    rx.failAlways(undefined);
  });

  it("POSTs the notification as JSON, signed, with its idempotency key, and marks it", async () => {
    const marks = memoryMarks();
    const s = new WebhookSender(target(`${rx.url}/hooks/shoal`), marks);
    expect(await s.send(NOTE)).toEqual({ outcome: "delivered", attempts: 1 });
    const [r] = rx.requests;
    expect(r).toMatchObject({ method: "POST", path: "/hooks/shoal", status: 200 });
    expect(JSON.parse(r!.body)).toEqual(NOTE);
    expect(r!.headers["content-type"]).toBe("application/json");
    expect(r!.headers["shoal-idempotency-key"]).toBe(NOTE.id);
    const ts = r!.headers["shoal-timestamp"] as string;
    expect(verifyWebhook(SECRET, ts, r!.body, r!.headers["shoal-signature"] as string)).toBe(true);
    expect(verifyWebhook("not-the-secret-at-all", ts, r!.body, r!.headers["shoal-signature"] as string)).toBe(false);
    expect(marks.keys).toEqual(new Set([`ops|${NOTE.id}`]));
  });

  it("sends no signature without a secret", async () => {
    const s = new WebhookSender(target(rx.url, { secret: undefined }), memoryMarks());
    await s.send(NOTE);
    expect(rx.requests[0]!.headers["shoal-signature"]).toBeUndefined();
    expect(rx.requests[0]!.headers["shoal-timestamp"]).toMatch(/^\d+$/);
  });

  it("retries 500s with a doubling backoff and delivers once it answers OK", async () => {
    rx.failNext(2);
    const clock = recordingClock();
    const marks = memoryMarks();
    const s = new WebhookSender(target(rx.url), marks, { clock });
    expect(await s.send(NOTE)).toEqual({ outcome: "delivered", attempts: 3 });
    expect(rx.requests.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(new Set(rx.requests.map((r) => r.headers["shoal-idempotency-key"]))).toEqual(new Set([NOTE.id]));
    expect(clock.waits).toEqual([250, 500]);
    expect(s.stats).toEqual({ delivered: 1, duplicates: 0, retried: 2, failed: 0 });
    expect(marks.keys.size).toBe(1);
  });

  it("gives up after maxAttempts with the reason, unmarked", async () => {
    rx.failAlways(503);
    const clock = recordingClock();
    const marks = memoryMarks();
    const s = new WebhookSender(target(rx.url, { maxAttempts: 3 }), marks, { clock });
    expect(await s.send(NOTE)).toEqual({ outcome: "failed", attempts: 3, reason: "HTTP 503 Service Unavailable" });
    expect(rx.requests).toHaveLength(3);
    expect(clock.waits).toEqual([250, 500]);
    expect(marks.keys.size).toBe(0);
  });

  it("does not retry a 4xx other than 408/429", async () => {
    rx.failAlways(400);
    const s = new WebhookSender(target(rx.url), memoryMarks(), { clock: recordingClock() });
    expect(await s.send(NOTE)).toEqual({ outcome: "failed", attempts: 1, reason: "HTTP 400 Bad Request" });
    expect(rx.requests).toHaveLength(1);
  });

  it("sends nothing the target already has (its mark)", async () => {
    const marks = memoryMarks();
    await marks.mark("ops", NOTE.id);
    const s = new WebhookSender(target(rx.url), marks);
    expect(await s.send(NOTE)).toEqual({ outcome: "duplicate" });
    expect(rx.requests).toHaveLength(0);
  });
});

describe("WebhookSender failures without an answer", () => {
  let silent: Server;
  let port = 0;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts connections and never answers.
    silent = createServer((sock) => void sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    port = (silent.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  });

  it("retries a timeout and reports it", async () => {
    const clock = recordingClock();
    const s = new WebhookSender(target(`http://127.0.0.1:${port}/`, { timeoutMs: 150, maxAttempts: 2 }), memoryMarks(), { clock });
    expect(await s.send(NOTE)).toEqual({ outcome: "failed", attempts: 2, reason: "no answer within 150 ms" });
    expect(clock.waits).toEqual([250]);
  });

  it("retries a refused connection and keeps the URL (it may hold a token) out of the reason", async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, "127.0.0.1", () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${closed}/hook/TOKEN-abc123`;
    const s = new WebhookSender(target(url, { maxAttempts: 2 }), memoryMarks(), { clock: recordingClock() });
    const r = await s.send(NOTE);
    expect(r).toMatchObject({ outcome: "failed", attempts: 2 });
    const reason = (r as { reason: string }).reason;
    expect(reason).toMatch(/ECONNREFUSED/);
    expect(reason).not.toMatch(/TOKEN/);
  });
});

describe("WebhookSender rate limit and Retry-After (simulated clock)", () => {
  it("waits for the rate limit and drops nothing", async () => {
    const clock = new SimClock(1_800_000_000_000);
    const sentAt: number[] = [];
    const fake = (async () => {
      sentAt.push(clock.now());
      return new Response("ok", { status: 200 });
    }) as typeof fetch;
    const s = new WebhookSender(target("http://x.invalid/", { ratePerMinute: 60 }), memoryMarks(), { clock, fetch: fake });
    const all = Promise.all(Array.from({ length: 10 }, (_, i) => s.send({ ...NOTE, id: `n${i}` })));
    await clock.advance(10_000);
    expect((await all).every((r) => r.outcome === "delivered")).toBe(true);
    const t0 = 1_800_000_000_000;
    // A burst of a tenth of a minute's rate (6), then one a second.
    expect(sentAt.map((t) => Math.round((t - t0) / 1000))).toEqual([0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
  });

  it("follows a 429's Retry-After when it is longer than the backoff", async () => {
    const clock = new SimClock(1_800_000_000_000);
    const sentAt: number[] = [];
    const fake = (async () => {
      sentAt.push(clock.now());
      return sentAt.length === 1 ? new Response("slow down", { status: 429, headers: { "retry-after": "7" } }) : new Response("ok", { status: 200 });
    }) as typeof fetch;
    const s = new WebhookSender(target("http://x.invalid/", { retryBaseMs: 100 }), memoryMarks(), { clock, fetch: fake });
    const r = s.send(NOTE);
    await clock.advance(8_000);
    expect(await r).toEqual({ outcome: "delivered", attempts: 2 });
    expect(sentAt[1]! - sentAt[0]!).toBe(7_000);
  });
});
