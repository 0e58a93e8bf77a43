/**
 * Report schedules (docs/adr/0017-reports.md): what a scheduled report covers and how often. The
 * configuration section `reports` (src/config/schema-alerts.ts) resolves to {@link ReportsOptions}.
 */

/** The whole fleet, or the devices of a group: those whose id matches `match` (a glob: `*` is any characters). */
export type ReportScope = { readonly kind: "fleet" } | { readonly kind: "group"; readonly group: string; readonly match: string };

/** One schedule: a report per period of `everyMs`, aligned to the epoch (UTC), due `delayMs` after the period ends. */
export interface ReportSchedule {
  /** Unique name; also the report's `kind` and the start of its id. */
  readonly name: string;
  /** Length of a period, ms: a whole number of minutes (the rollups' finest bucket). */
  readonly everyMs: number;
  /** Wait after a period ends before its report, ms (late readings land). */
  readonly delayMs: number;
  readonly scope: ReportScope;
  /** Most figure lines given to the model (>= 1). */
  readonly maxItems: number;
}

/** The `reports` configuration section, resolved. */
export interface ReportsOptions {
  readonly enabled: boolean;
  /** Consul key whose session lock makes one process the leader (default `shoal/reports/leader`). */
  readonly leaderKey: string;
  /** Consul session TTL of the leader, ms (>= 10 s). A killed leader is replaced after TTL..2×TTL plus the lock delay. */
  readonly sessionTtlMs: number;
  /** Most missed periods per schedule generated after downtime (the newest ones; at least the newest due period). */
  readonly catchUpMax: number;
  readonly schedules: readonly ReportSchedule[];
}

const MINUTE = 60_000;

/** Checks a schedule; RangeError naming the field and the rule. */
export function validateSchedule(s: ReportSchedule): ReportSchedule {
  const at = `reports.schedules[${JSON.stringify(s.name)}]`;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(s.name)) throw new RangeError(`${at}.name must be 1-64 letters, digits, _ and -`);
  if (!(Number.isSafeInteger(s.everyMs) && s.everyMs >= MINUTE && s.everyMs % MINUTE === 0)) throw new RangeError(`${at}.everyMs must be a whole number of minutes, got ${s.everyMs}`);
  if (!(Number.isSafeInteger(s.delayMs) && s.delayMs >= 0)) throw new RangeError(`${at}.delayMs must be a whole number >= 0, got ${s.delayMs}`);
  if (!(Number.isInteger(s.maxItems) && s.maxItems >= 1)) throw new RangeError(`${at}.maxItems must be an integer >= 1, got ${s.maxItems}`);
  if (s.scope.kind === "group" && (s.scope.match === "" || s.scope.group === "")) throw new RangeError(`${at}.scope of kind group needs a group and a match`);
  return s;
}

/** The `scope` column of a report: `fleet`, or `group:<group>`. */
export function scopeKey(scope: ReportScope): string {
  return scope.kind === "fleet" ? "fleet" : `group:${scope.group}`;
}

/** How a scope reads in a title: `fleet`, or `group pumps (pump-*)`. */
export function scopeLabel(scope: ReportScope): string {
  return scope.kind === "fleet" ? "fleet" : `group ${scope.group} (${scope.match})`;
}

/**
 * A glob on device ids as an anchored RE2/JS regular expression: `*` is any characters (none
 * included), everything else stands for itself.
 */
export function globToRegex(glob: string): string {
  return `^${glob
    .split("*")
    .map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, (c) => `\\${c}`))
    .join(".*")}$`;
}

/** True when `deviceId` matches the scope. */
export function inScope(scope: ReportScope, deviceId: string): boolean {
  return scope.kind === "fleet" || new RegExp(globToRegex(scope.match), "s").test(deviceId);
}
