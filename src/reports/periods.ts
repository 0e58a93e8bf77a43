import type { ReportSchedule } from "./schedule.js";

/**
 * Report periods: `[k·everyMs, (k+1)·everyMs)` for whole k, aligned to the Unix epoch (so UTC
 * hours and days for 1h and 1d), due `delayMs` after they end. Pure functions of their arguments.
 */

/** One period of a schedule, ms since the epoch: `fromMs` inclusive, `toMs` exclusive. */
export interface Period {
  readonly fromMs: number;
  readonly toMs: number;
}

/** The period of `everyMs` that contains `tMs`. */
export function periodAt(everyMs: number, tMs: number): Period {
  const fromMs = Math.floor(tMs / everyMs) * everyMs;
  return { fromMs, toMs: fromMs + everyMs };
}

/** When the report of the period starting at `fromMs` is due: its end plus the delay. */
export function dueAt(s: Pick<ReportSchedule, "everyMs" | "delayMs">, fromMs: number): number {
  return fromMs + s.everyMs + s.delayMs;
}

/** The start of the newest period whose report is due at `nowMs` (due time <= now). */
export function newestDueFrom(s: Pick<ReportSchedule, "everyMs" | "delayMs">, nowMs: number): number {
  return (Math.floor((nowMs - s.delayMs) / s.everyMs) - 1) * s.everyMs;
}

/** When the next report falls due after `nowMs` (strictly later than now). */
export function nextDueAt(s: Pick<ReportSchedule, "everyMs" | "delayMs">, nowMs: number): number {
  return dueAt(s, newestDueFrom(s, nowMs) + s.everyMs);
}

/**
 * The periods whose reports are due at `nowMs` and come after the newest one done
 * (`lastDoneFrom`, the start of the newest stored period; undefined when none is stored), oldest
 * first: at most the newest `max(1, catchUpMax)`. Without any report stored yet only the newest
 * due period is returned (a new installation does not backfill: `shoal reports run` does).
 */
export function duePeriods(s: Pick<ReportSchedule, "everyMs" | "delayMs">, lastDoneFrom: number | undefined, nowMs: number, catchUpMax: number): number[] {
  const newest = newestDueFrom(s, nowMs);
  const max = lastDoneFrom === undefined ? 1 : Math.max(1, Math.floor(catchUpMax));
  const oldest = Math.max(newest - (max - 1) * s.everyMs, lastDoneFrom === undefined ? -Infinity : periodAt(s.everyMs, lastDoneFrom).fromMs + s.everyMs);
  const out: number[] = [];
  for (let from = oldest; from <= newest; from += s.everyMs) out.push(from);
  return out;
}

/** The deterministic id of a report: `<schedule>/<period start as ISO 8601 UTC>`. */
export function reportIdOf(schedule: string, fromMs: number): string {
  return `${schedule}/${new Date(fromMs).toISOString()}`;
}

/**
 * A period given by hand (`shoal reports run --period`): an ISO time or ms since the epoch, any
 * instant inside the period. RangeError when it is neither.
 */
export function parsePeriodStart(everyMs: number, text: string): Period {
  const t = /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : Date.parse(text);
  if (!Number.isSafeInteger(t)) throw new RangeError(`period ${JSON.stringify(text)} is neither an ISO time nor ms since the epoch`);
  return periodAt(everyMs, t);
}
