/**
 * Pure helpers of the Devices, Commands and Audit pages (issue 17): what the forms accept before a
 * request is sent (labels, JSON payloads, TTLs), how the services' enums read, and how a filter in
 * the URL becomes a request. The server validates everything again; these only give the operator
 * the error next to the field instead of a round trip.
 */

/** The enabled filter as the URL spells it; DeviceService.ListDevices' enabled_filter 0/1/2. */
export const ENABLED_FILTERS = ["any", "enabled", "disabled"] as const;
export type EnabledFilter = (typeof ENABLED_FILTERS)[number];

/** ListDevices' `enabled_filter` of an URL filter. */
export function enabledFilterCode(f: EnabledFilter): number {
  return ENABLED_FILTERS.indexOf(f);
}

/** A device id as the registry accepts it (proto/shoal/v1/device.proto). */
export const DEVICE_ID = /^[A-Za-z0-9_-]{1,128}$/;
const LABEL_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
const COMMAND_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Parsed form input: the value, or the sentence shown beside the field. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/**
 * Labels typed as `k=v, k=v` (commas or new lines between pairs; a value may contain `=`). Empty
 * text is no labels. Keys as the registry allows them, values up to 256 characters, at most 32.
 */
export function parseLabels(text: string): Parsed<Record<string, string>> {
  const out: Record<string, string> = {};
  const pairs = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) return { ok: false, error: `"${pair}" is not key=value` };
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (!LABEL_KEY.test(key)) return { ok: false, error: `label key "${key}": letters, digits, _ . - only (1–64)` };
    if (value.length > 256) return { ok: false, error: `label ${key}: value longer than 256 characters` };
    if (Object.hasOwn(out, key)) return { ok: false, error: `label ${key} given twice` };
    out[key] = value;
  }
  if (Object.keys(out).length > 32) return { ok: false, error: "at most 32 labels" };
  return { ok: true, value: out };
}

/** Labels as the form shows them (`k=v, k=v`, keys sorted): parseLabels' inverse. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(", ");
}

/** What UpdateDevice must set and remove to turn labels `before` into `after`. */
export function labelChanges(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): { setLabels: Record<string, string>; removeLabels: string[] } {
  const setLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(after)) if (before[k] !== v) setLabels[k] = v;
  const removeLabels = Object.keys(before)
    .filter((k) => !Object.hasOwn(after, k))
    .sort();
  return { setLabels, removeLabels };
}

/** A device id typed in a form. */
export function parseDeviceId(text: string): Parsed<string> {
  const id = text.trim();
  if (!DEVICE_ID.test(id)) return { ok: false, error: "letters, digits, _ and - only (1–128)" };
  return { ok: true, value: id };
}

/** A command name typed in the form. */
export function parseCommandName(text: string): Parsed<string> {
  const name = text.trim();
  if (!COMMAND_NAME.test(name)) return { ok: false, error: "letters, digits, _ . - only (1–64)" };
  return { ok: true, value: name };
}

/** A command's payload: a JSON object (empty text is `{}`), at most 16 KiB; sent compact. */
export function parsePayload(text: string): Parsed<string> {
  const t = text.trim();
  if (t === "") return { ok: true, value: "{}" };
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (e) {
    return { ok: false, error: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return { ok: false, error: "must be a JSON object ({…})" };
  const compact = JSON.stringify(v);
  if (new TextEncoder().encode(compact).length > 16 * 1024) return { ok: false, error: "larger than 16 KiB" };
  return { ok: true, value: compact };
}

const MAX_TTL_MS = 7 * 24 * 3600_000;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

/** A TTL like `30s`, `5m`, `2h`, `1d` (a bare number is seconds); empty is 0 = the server's default. */
export function parseTtl(text: string): Parsed<number> {
  const t = text.trim().toLowerCase();
  if (t === "") return { ok: true, value: 0 };
  const m = /^(\d{1,9})\s*(ms|s|m|h|d)?$/.exec(t);
  if (!m) return { ok: false, error: "a duration like 30s, 5m, 2h or 1d" };
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? "s"]!;
  if (ms <= 0) return { ok: false, error: "must be more than 0 (empty: the default)" };
  if (ms > MAX_TTL_MS) return { ok: false, error: "at most 7 days" };
  return { ok: true, value: ms };
}

/** Command statuses by CommandStatus number (proto/shoal/v1/command.proto). */
export const COMMAND_STATUS_NAMES = ["unspecified", "pending", "delivered", "acknowledged", "failed", "expired"] as const;
export type CommandStatusName = (typeof COMMAND_STATUS_NAMES)[number];

/** The statuses the Commands page filters by (URL `status=`), each its CommandStatus number's name. */
export const COMMAND_STATUS_FILTERS = ["pending", "delivered", "acknowledged", "failed", "expired"] as const;
export type CommandStatusFilter = (typeof COMMAND_STATUS_FILTERS)[number];

/** The CommandStatus number of a status name (its index in COMMAND_STATUS_NAMES). */
export function commandStatusCode(name: CommandStatusFilter): number {
  return COMMAND_STATUS_NAMES.indexOf(name);
}

/** The name of a CommandStatus value ("unspecified" for one this console does not know). */
export function commandStatusName(status: number): CommandStatusName {
  return COMMAND_STATUS_NAMES[status] ?? "unspecified";
}

/** Tone of a command status badge: settled well, settled badly, or still waiting. */
export function commandStatusTone(status: number): "ok" | "bad" | "warn" | "info" | "neutral" {
  switch (commandStatusName(status)) {
    case "acknowledged":
      return "ok";
    case "failed":
      return "bad";
    case "expired":
      return "warn";
    case "pending":
    case "delivered":
      return "info";
    default:
      return "neutral";
  }
}

/** Whether a command status can still change (pending or delivered): the page polls while one is. */
export function commandOpen(status: number): boolean {
  const n = commandStatusName(status);
  return n === "pending" || n === "delivered";
}

/**
 * Whether the commands list is to be asked for again after the poll interval: while a command it
 * shows is open, while the last listing failed (a transient error heals by itself), and while a
 * command sent from this page is not in it yet (`sentId`, on the first page, no status filter
 * hiding it). Without the last two a listing that failed or ran before the new command could be
 * read left the page without it until reloaded by hand.
 */
export function commandsListStale(shown: readonly { readonly commandId: string; readonly status: number }[], o: { readonly failed: boolean; readonly sentId?: string | undefined; readonly firstPage: boolean; readonly statusFilter: boolean }): boolean {
  if (shown.some((c) => commandOpen(c.status)) || o.failed) return true;
  return o.sentId !== undefined && o.firstPage && !o.statusFilter && !shown.some((c) => c.commandId === o.sentId);
}

/** Tone of an audit outcome: "ok" is fine, a refusal (permission/unauthenticated) is bad, any other error a warning. */
export function outcomeTone(outcome: string): "ok" | "bad" | "warn" {
  if (outcome === "ok") return "ok";
  return outcome === "permission_denied" || outcome === "unauthenticated" ? "bad" : "warn";
}

/** `datetime-local` input text (local time) as ms since the epoch; empty or invalid is 0 (unbounded). */
export function localInputToMs(text: string): number {
  if (text.trim() === "") return 0;
  const ms = new Date(text).getTime();
  return Number.isFinite(ms) ? ms : 0;
}
