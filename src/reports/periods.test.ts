import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { duePeriods, dueAt, newestDueFrom, nextDueAt, parsePeriodStart, periodAt, reportIdOf } from "./periods.js";

const H = 3_600_000;
const D = 24 * H;
const T = Date.UTC(2024, 4, 1, 10, 30, 0); // 2024-05-01T10:30:00Z
const hourly = { everyMs: H, delayMs: 120_000 };

describe("report periods", () => {
  it("are aligned to the epoch in UTC: hours on the hour, days at midnight UTC", () => {
    expect(periodAt(H, T)).toEqual({ fromMs: Date.UTC(2024, 4, 1, 10), toMs: Date.UTC(2024, 4, 1, 11) });
    expect(periodAt(D, T)).toEqual({ fromMs: Date.UTC(2024, 4, 1), toMs: Date.UTC(2024, 4, 2) });
    expect(periodAt(H, Date.UTC(2024, 4, 1, 11))).toEqual({ fromMs: Date.UTC(2024, 4, 1, 11), toMs: Date.UTC(2024, 4, 1, 12) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1440 }), fc.integer({ min: 0, max: 4e12 }), (minutes, t) => {
        const every = minutes * 60_000;
        const p = periodAt(every, t);
        return p.fromMs % every === 0 && p.fromMs <= t && t < p.toMs && p.toMs - p.fromMs === every;
      }),
    );
  });

  it("fall due at their end plus the delay; the next due time is always later than now", () => {
    expect(dueAt(hourly, Date.UTC(2024, 4, 1, 9))).toBe(Date.UTC(2024, 4, 1, 10, 2));
    // At 10:30 the 09:00 period is the newest due; 10:00 falls due at 11:02.
    expect(newestDueFrom(hourly, T)).toBe(Date.UTC(2024, 4, 1, 9));
    expect(nextDueAt(hourly, T)).toBe(Date.UTC(2024, 4, 1, 11, 2));
    // Exactly at a due time that period is due.
    expect(newestDueFrom(hourly, Date.UTC(2024, 4, 1, 11, 2))).toBe(Date.UTC(2024, 4, 1, 10));
    expect(newestDueFrom(hourly, Date.UTC(2024, 4, 1, 11, 2) - 1)).toBe(Date.UTC(2024, 4, 1, 9));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1440 }), fc.integer({ min: 0, max: 3 * D }), fc.integer({ min: 0, max: 4e12 }), (minutes, delay, now) => {
        const s = { everyMs: minutes * 60_000, delayMs: delay };
        const newest = newestDueFrom(s, now);
        const next = nextDueAt(s, now);
        return dueAt(s, newest) <= now && next > now && next === dueAt(s, newest + s.everyMs);
      }),
    );
  });

  it("due periods: the missing ones after the newest stored, oldest first, bounded by catchUpMax", () => {
    const h = (n: number) => Date.UTC(2024, 4, 1, n);
    // 3 hours down after the 06:00 report: 07, 08, 09 are due at 10:30.
    expect(duePeriods(hourly, h(6), T, 48)).toEqual([h(7), h(8), h(9)]);
    expect(duePeriods(hourly, h(9), T, 48)).toEqual([]);
    expect(duePeriods(hourly, h(10), T, 48)).toEqual([]); // stored ahead (a backfill by hand): nothing due
    // Bounded: only the newest catchUpMax.
    expect(duePeriods(hourly, h(0), T, 2)).toEqual([h(8), h(9)]);
    // Never anything stored: the newest due period only; catchUpMax 0 still generates the newest.
    expect(duePeriods(hourly, undefined, T, 48)).toEqual([h(9)]);
    expect(duePeriods(hourly, h(6), T, 0)).toEqual([h(9)]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 4e12 }), (minutes, back, max, now) => {
        const s = { everyMs: minutes * 60_000, delayMs: 0 };
        const newest = newestDueFrom(s, now);
        const last = newest - back * s.everyMs;
        const due = duePeriods(s, last, now, max);
        const want = Math.min(back, Math.max(1, max));
        return due.length === want && due.every((f, i) => f > last && f <= newest && f % s.everyMs === 0 && (i === 0 || f - due[i - 1]! === s.everyMs)) && (due.length === 0 || due.at(-1) === newest);
      }),
    );
  });

  it("report ids are deterministic: the schedule and the period start in ISO UTC", () => {
    expect(reportIdOf("fleet-hourly", Date.UTC(2024, 4, 1, 9))).toBe("fleet-hourly/2024-05-01T09:00:00.000Z");
    expect(reportIdOf("fleet-hourly", periodAt(H, T).fromMs)).toBe(reportIdOf("fleet-hourly", periodAt(H, T + 1000).fromMs));
  });

  it("a period given by hand is an ISO time or ms, any instant inside it", () => {
    expect(parsePeriodStart(H, "2024-05-01T09:00:00Z")).toEqual({ fromMs: Date.UTC(2024, 4, 1, 9), toMs: Date.UTC(2024, 4, 1, 10) });
    expect(parsePeriodStart(H, "2024-05-01T09:59:59.999Z").fromMs).toBe(Date.UTC(2024, 4, 1, 9));
    expect(parsePeriodStart(H, String(Date.UTC(2024, 4, 1, 9, 15))).fromMs).toBe(Date.UTC(2024, 4, 1, 9));
    expect(() => parsePeriodStart(H, "yesterday")).toThrow('period "yesterday" is neither an ISO time nor ms since the epoch');
  });
});
