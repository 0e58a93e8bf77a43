import { describe, expect, it } from "vitest";
import { SimClock } from "../../base/testing/sim-clock.js";
import type { AuditEvent } from "../../ports/audit.js";
import type { Log } from "../../ports/log.js";
import { auditCursor, parseAuditCursor } from "./audit-log-reader.js";
import { AuditBatcher, auditRow, detailsJson, MAX_DETAILS_CHARS, uuidV7, type AuditRow } from "./audit-log.js";

/** The audit writer's queue, batching, backoff and loss over a fake insert (ClickHouse: test/integration/audit-log.test.ts). */

const T0 = Date.UTC(2026, 11, 1);

function recorder(): Log & { lines: Array<[string, string]> } {
  const lines: Array<[string, string]> = [];
  const at = (level: string) => (a: object | string, b?: string) => void lines.push([level, typeof a === "string" ? a : (b ?? "")]);
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

const event = (i: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  atMs: T0 + i,
  actor: "alice",
  actorRole: "admin",
  source: "ipv4:127.0.0.1:5000",
  action: "shoal.v1.DeviceService/SetDeviceEnabled",
  target: `device/d-${i}`,
  outcome: "ok",
  details: { i },
  ...over,
});

/** An insert that fails while `down` and keeps every batch it took. */
function fakeInsert() {
  const s = { down: false, batches: [] as AuditRow[][], calls: 0 };
  const insert = async (rows: readonly AuditRow[]) => {
    s.calls++;
    if (s.down) throw new Error("connect ECONNREFUSED 127.0.0.1:18123");
    s.batches.push([...rows]);
  };
  return { s, insert };
}

let ids = 0;
const newId = () => `id-${++ids}`;

describe("AuditBatcher", () => {
  it("queues without waiting and inserts one batch per flush interval, at most maxBatch rows each", async () => {
    const clock = new SimClock(T0);
    const { s, insert } = fakeInsert();
    const b = new AuditBatcher(insert, { log: recorder(), clock, flushIntervalMs: 1_000, maxBatch: 3 }, newId);
    await b.record(event(1));
    await b.record(event(2));
    expect(s.calls).toBe(0);
    expect(b.stats).toMatchObject({ recorded: 2, written: 0, queued: 2 });
    await clock.advance(999);
    expect(s.calls).toBe(0);
    await clock.advance(1);
    expect(s.batches.map((x) => x.map((r) => r.target))).toEqual([["device/d-1", "device/d-2"]]);
    for (let i = 3; i <= 9; i++) await b.record(event(i)); // the third of each 3 starts an insert at once
    await clock.advance(0);
    expect(s.batches.slice(1).map((x) => x.length)).toEqual([3, 3, 1]);
    expect(b.stats).toEqual({ recorded: 9, written: 9, lost: 0, failures: 0, queued: 0 });
  });

  it("retries a failed insert with backoff, keeps the events in order, and loses (logged, counted) past maxQueued", async () => {
    const clock = new SimClock(T0);
    const log = recorder();
    const { s, insert } = fakeInsert();
    const b = new AuditBatcher(insert, { log, clock, flushIntervalMs: 100, maxQueued: 4, retryMinMs: 1_000, retryMaxMs: 4_000 }, newId);
    s.down = true;
    for (let i = 1; i <= 3; i++) await b.record(event(i));
    await clock.advance(100);
    expect([s.calls, b.stats.failures, b.stats.queued]).toEqual([1, 1, 3]);
    await clock.advance(999);
    expect(s.calls).toBe(1); // backoff 1 s
    await clock.advance(1);
    expect(s.calls).toBe(2);
    await clock.advance(2_000); // then 2 s
    expect(s.calls).toBe(3);
    await clock.advance(4_000); // then 4 s (the maximum)
    await clock.advance(4_000);
    expect(s.calls).toBe(5);
    for (let i = 4; i <= 7; i++) await b.record(event(i)); // room for one more: 5, 6, 7 are lost
    expect(b.stats).toMatchObject({ recorded: 4, lost: 3, queued: 4 });
    expect(log.lines.filter(([l]) => l === "error")).toEqual([["error", "audit events lost: queue full (4 events waiting)"]]); // one line per episode
    s.down = false;
    await clock.advance(4_000);
    expect(s.batches.flat().map((r) => r.target)).toEqual(["device/d-1", "device/d-2", "device/d-3", "device/d-4"]);
    expect(b.stats).toEqual({ recorded: 4, written: 4, lost: 3, failures: 5, queued: 0 });
    expect(log.lines.map(([l, m]) => `${l} ${m}`).slice(-2)).toEqual(["info audit log insert succeeded again", "error 3 audit event(s) were lost in all before this point"]);
    expect(log.lines.filter(([l]) => l === "warn")).toHaveLength(5);
  });

  it("flush writes what is queued now and rejects while ClickHouse fails; close loses what its last insert could not write", async () => {
    const clock = new SimClock(T0);
    const { s, insert } = fakeInsert();
    const b = new AuditBatcher(insert, { log: recorder(), clock, flushIntervalMs: 60_000 }, newId);
    await b.record(event(1));
    await b.flush();
    expect(b.stats).toMatchObject({ written: 1, queued: 0 });
    s.down = true;
    await b.record(event(2));
    await expect(b.flush()).rejects.toThrow(/ECONNREFUSED/);
    expect(b.stats).toMatchObject({ written: 1, queued: 1, failures: 1, lost: 0 });
    await b.record(event(3));
    await b.close();
    expect(b.stats).toEqual({ recorded: 3, written: 1, lost: 2, failures: 2, queued: 0 });
    await b.record(event(4)); // after close: lost, and still no throw
    expect(b.stats.lost).toBe(3);
    expect(clock.pending).toBe(0);
  });

  it("close writes what is queued and leaves no timer", async () => {
    const clock = new SimClock(T0);
    const { s, insert } = fakeInsert();
    const b = new AuditBatcher(insert, { log: recorder(), clock, flushIntervalMs: 1_000 }, newId);
    await b.record(event(1));
    await b.record(event(2));
    await b.close();
    expect(s.batches.flat()).toHaveLength(2);
    expect(clock.pending).toBe(0);
  });

  it("never throws on a bad event: a details object that cannot be serialised is stored as a stub", async () => {
    const clock = new SimClock(T0);
    const { s, insert } = fakeInsert();
    const b = new AuditBatcher(insert, { log: recorder(), clock }, newId);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(b.record(event(1, { details: circular }))).resolves.toBeUndefined();
    await b.flush();
    expect(JSON.parse(s.batches[0]![0]!.details)).toEqual({ unserializable: expect.stringMatching(/circular/i) });
  });
});

describe("auditRow", () => {
  it("cuts texts to their column, repairs lone surrogates, keeps a valid time or uses now", () => {
    const r = auditRow(event(1, { target: "x".repeat(5_000), actor: "bad\uD800", atMs: Number.NaN }), "e1", T0 + 7);
    expect([r.target.length, r.actor, r.at_ms, r.event_id]).toEqual([1024, "bad\uFFFD", T0 + 7, "e1"]);
    expect(auditRow(event(1), "e2", 0)).toEqual({
      event_id: "e2",
      at_ms: T0 + 1,
      actor: "alice",
      actor_role: "admin",
      source: "ipv4:127.0.0.1:5000",
      action: "shoal.v1.DeviceService/SetDeviceEnabled",
      target: "device/d-1",
      outcome: "ok",
      details: '{"i":1}',
    });
  });

  it("details: bigints as strings, non-objects wrapped, too long replaced by a stub", () => {
    expect(detailsJson({ n: 12n, s: "a" })).toBe('{"n":"12","s":"a"}');
    expect(detailsJson(undefined)).toBe("{}");
    expect(JSON.parse(detailsJson(["x"]))).toEqual({ value: '["x"]' });
    const long = JSON.parse(detailsJson({ big: "y".repeat(MAX_DETAILS_CHARS) })) as { truncated: boolean; chars: number; head: string };
    expect([long.truncated, long.chars, long.head.length]).toEqual([true, MAX_DETAILS_CHARS + 10, 1024]);
  });
});

describe("uuidV7 (audit event ids)", () => {
  it("is a version 7 UUID with the time first: ids sort as text by the ms they were made in", () => {
    const id = uuidV7(T0, Buffer.alloc(10, 0xff));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(T0);
    const times = [0, 1, 255, 256, T0 - 1, T0, T0 + 1, 2 ** 47, 2 ** 48 - 1];
    const ids = times.map((t) => uuidV7(t));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 1000 }, () => uuidV7(T0))).size).toBe(1000);
  });

  it("is given when the event is recorded, and kept by a retried insert", async () => {
    const clock = new SimClock(T0);
    const { s, insert } = fakeInsert();
    const b = new AuditBatcher(insert, { log: recorder(), clock, flushIntervalMs: 10, retryMinMs: 10 });
    await b.record(event(1));
    s.down = true;
    await clock.advance(10);
    s.down = false;
    await clock.advance(1000);
    expect(s.calls).toBe(2);
    expect(s.batches).toHaveLength(1);
    expect(s.batches[0]![0]!.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(parseInt(s.batches[0]![0]!.event_id.replace(/-/g, "").slice(0, 12), 16)).toBe(T0);
  });
});

describe("audit cursors", () => {
  it("round-trip and refuse anything else with invalid_input", () => {
    const c = auditCursor(T0, "0b5e0c3a-1111-4222-8333-444455556666");
    expect(parseAuditCursor(c)).toEqual({ atMs: T0, eventId: "0b5e0c3a-1111-4222-8333-444455556666" });
    for (const bad of ["", "x", `${T0}`, `${T0}.`, `${T0}.a'b`, `-1.a`, `${"9".repeat(17)}.a`]) {
      expect(() => parseAuditCursor(bad), bad).toThrow(expect.objectContaining({ code: "invalid_input" }));
    }
  });
});
