import { describe, expect, it } from "vitest";
import { ALERT_TRANSITIONS_SCHEMA, ALERTS_SCHEMA } from "../../src/domain/tables.js";
import type { AlertTransition } from "../../src/domain/alerts.js";
import { ALERTS_CODEC_VERSION, decodeAlerts, encodeAlerts } from "./codec.js";
import { AlertEngine } from "./engine.js";
import { Device, rule } from "./harness.js";
import { alertRow, transitionRow } from "./rows.js";
import type { DeviceAlerts } from "./state.js";

const RULES = [
  rule.score({ forMs: 5_000, clearForMs: 10_000, escalateAfterMs: 60_000, severity: "info", flap: { windowMs: 120_000, maxChanges: 4 } }),
  rule.threshold({ forMs: 2_000 }),
  rule.noData({ afterMs: 30_000 }),
  rule.offline(),
];

/** A script of device events over simulated time, mixing every rule kind and an operator. */
function script(d: Device, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const t = i * 1_000 + (i % 7 === 3 ? 0.5 : 0); // a few fractional times too
    if (i % 50 === 49) d.offline(t);
    else if (i % 200 === 110) d.command("acknowledge", `${d.id}/anomaly/${Math.max(1, d.out.filter((x) => x.rule === "anomaly" && x.version === 1).length)}`, t);
    else if (i % 61 === 30) d.command("resolve", `${d.id}/hot/${Math.max(1, d.out.filter((x) => x.rule === "hot" && x.version === 1).length)}`, t);
    else {
      // raise, clear, raise, clear (flapping), quiet, between the levels (escalation), clear for good
      const p = i % 200;
      const score = p < 8 ? (p === 3 ? 0.7 : 0.95) : p < 20 ? 0.1 : p < 28 ? (p === 22 ? 0.7 : 0.95) : p < 40 ? 0.1 : p < 48 ? 0.95 : p < 60 ? 0.3 : p < 100 ? 0.7 : 0.1;
      const values: Record<string, number> = { temp: i % 23 < 8 ? 45 : 30 };
      if (i % 97 < 60) values.hum = 50;
      d.reading(t, values, { temp: score });
    }
  }
}

const roundTrip = (st: DeviceAlerts) => decodeAlerts(encodeAlerts(st));

describe("alert state codec", () => {
  it("round-trips to the same bytes at every step of a busy script (pending, open, acknowledged, flapping, re-arm states)", () => {
    const d = new Device(new AlertEngine(RULES));
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      script(d, i, i + 1);
      if (d.st === undefined) continue;
      const bytes = encodeAlerts(d.st);
      expect(bytes[0]).toBe(ALERTS_CODEC_VERSION);
      expect(encodeAlerts(decodeAlerts(bytes))).toEqual(bytes);
      for (const s of d.st.slots) if (s !== undefined) seen.add(`${s.rule}:${s.version > 0 ? "open" : "closed"}${s.acked ? "+ack" : ""}${s.flapping ? "+flap" : ""}${s.rearm ? "+rearm" : ""}${s.since === s.since ? "+pending" : ""}`);
    }
    // the script reached the interesting states
    for (const k of ["anomaly:open+ack", "anomaly:open+flap", "anomaly:closed+pending", "anomaly:open+pending", "hot:closed+rearm", "no-hum:open", "offline:open"]) expect([...seen].some((s) => s.startsWith(k)), `${k} in ${[...seen].join(" ")}`).toBe(true);
    expect(d.out.some((t) => t.kind === "flapping") && d.out.some((t) => t.kind === "escalated")).toBe(true);
  });

  it("restore-then-continue gives the same transitions as an uninterrupted run, wherever the snapshot is taken", () => {
    const whole = new Device(new AlertEngine(RULES));
    script(whole, 0, 400);
    for (const cut of [1, 7, 33, 52, 100, 123, 250, 399]) {
      const d = new Device(new AlertEngine(RULES));
      script(d, 0, cut);
      d.restore();
      script(d, cut, 400);
      expect(d.out).toEqual(whole.out);
      expect(encodeAlerts(d.st!)).toEqual(encodeAlerts(whole.st!));
    }
  });

  it("is compact", () => {
    const d = new Device(new AlertEngine([rule.score()]));
    d.score(1_700_000_000_000, 0.95);
    expect(encodeAlerts(d.st!).length).toBeLessThanOrEqual(48);
  });

  it("keeps odd times exactly (negative, fractional, huge)", () => {
    const d = new Device(new AlertEngine([rule.score({ forMs: 1e15 })]));
    for (const t of [-5, 0.25, 2 ** 53 + 2]) {
      d.st = undefined;
      d.score(t, 0.95);
      expect(roundTrip(d.st!).slots[0]!.since).toBe(t);
    }
  });

  it("throws RangeError on corrupt input", () => {
    const d = new Device(new AlertEngine(RULES));
    script(d, 0, 120);
    const bytes = encodeAlerts(d.st!);
    for (let n = 0; n < bytes.length; n++) expect(() => decodeAlerts(bytes.subarray(0, n)), `truncated to ${n}`).toThrow(RangeError);
    expect(() => decodeAlerts(Uint8Array.of(...bytes, 0))).toThrow(/trailing/);
    expect(() => decodeAlerts(Uint8Array.of(9, ...bytes.subarray(1)))).toThrow(/unknown version 9/);
    // device "d", one slot: rule "r", sig "s", counter 0, flags acked-but-not-open
    expect(() => decodeAlerts(Uint8Array.of(1, 1, 100, 1, 1, 114, 1, 115, 0, 2, 0, 0, 0))).toThrow(/invalid flags/);
    expect(() => decodeAlerts(Uint8Array.of(1, 1, 100, 1, 1, 114, 1, 115, 0, 1, 0, 0, 0, 1, 2, 2, 0, 0))).toThrow(/open alert with version 1, counter 0/);
    expect(() => decodeAlerts(Uint8Array.of(1, 1, 0xff, 0))).toThrow(/invalid UTF-8/);
    expect(() => decodeAlerts(Uint8Array.of(1, 0, 200, 1))).toThrow(/count 200/);
    expect(() => decodeAlerts(Uint8Array.of(1, 0, 2, 1, 114, 0, 0, 0, 0, 0, 0, 1, 114, 0, 0, 0, 0, 0, 0))).toThrow(/repeated/);
  });
});

describe("rows", () => {
  const t: AlertTransition = { alertId: "d/r/1", version: 3, deviceId: "d", rule: "r", metric: "temp", kind: "cleared", state: "resolved", severity: "critical", atMs: 9, startedAtMs: 2, value: 0.5, summary: "s", by: "", reason: "why", flapping: true };

  it("transitionRow has exactly the columns of alert_transitions", () => {
    const row = transitionRow(t);
    expect(Object.keys(row).sort()).toEqual(ALERT_TRANSITIONS_SCHEMA.columns.map((c) => c.name).sort());
    expect(row).toMatchObject({ alert_id: "d/r/1", version: 3, at_ms: 9, started_at_ms: 2, flapping: 1, reason: "why" });
    expect(transitionRow({ ...t, flapping: false }).flapping).toBe(0);
  });

  it("alertRow has exactly the columns of alerts; resolved_at_ms only when resolved", () => {
    const row = alertRow(t);
    expect(Object.keys(row).sort()).toEqual(ALERTS_SCHEMA.columns.map((c) => c.name).sort());
    expect(row).toMatchObject({ updated_at_ms: 9, resolved_at_ms: 9, detail: "why", version: 3, started_at_ms: 2 });
    expect(alertRow({ ...t, state: "acknowledged" }).resolved_at_ms).toBe(0);
  });
});
