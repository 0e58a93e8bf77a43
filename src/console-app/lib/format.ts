/**
 * Formatting for the console: compact, fixed, locale-independent (operators compare numbers across
 * screens and screenshots; times are shown in the browser's time zone, ISO-like, 24 h).
 * Protobuf 64-bit fields arrive as bigint: every helper takes `number | bigint`.
 */

export type Num = number | bigint;

const toNum = (n: Num): number => (typeof n === "bigint" ? Number(n) : n);

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** "1234567" → "1,234,567"; non-finite → "–". */
export function formatInt(n: Num): string {
  const v = toNum(n);
  if (!Number.isFinite(v)) return "–";
  const s = String(Math.round(Math.abs(v)));
  return (v < 0 ? "-" : "") + s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A number with `digits` significant digits, compact: "12.3", "0.0042", "12,345", "2.50 M", "7.10 G", "1.0e-5". */
export function formatNumber(n: Num, digits = 3): string {
  const v = toNum(n);
  if (!Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return formatInt(v);
  if (a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(digits)));
}

/** A rate: "12.3/s". */
export function formatRate(n: Num, unit: "s" | "min"): string {
  return `${formatNumber(n)}/${unit}`;
}

/** An anomaly score 0..1 as "0.93". */
export function formatScore(n: Num): string {
  const v = toNum(n);
  return Number.isFinite(v) ? v.toFixed(2) : "–";
}

/** Microseconds as "850 µs", "12.4 ms", "1.20 s". */
export function formatMicros(us: Num): string {
  const v = toNum(us);
  if (!Number.isFinite(v) || v < 0) return "–";
  if (v < 1000) return `${Math.round(v)} µs`;
  if (v < 1e6) return `${Number((v / 1000).toPrecision(3))} ms`;
  return `${(v / 1e6).toFixed(2)} s`;
}

/** A duration in ms as "45 s", "12 min", "3 h 20 min", "2 d 4 h". */
export function formatDuration(ms: Num): string {
  const v = Math.max(0, toNum(ms));
  if (!Number.isFinite(v)) return "–";
  const s = Math.floor(v / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/** How long ago `atMs` was relative to `nowMs`: "just now", "45 s ago", "3 h 20 min ago"; 0 → "never"; over a minute ahead → "in 2 min". */
export function formatAgo(atMs: Num, nowMs: number): string {
  const at = toNum(atMs);
  if (at <= 0 || !Number.isFinite(at)) return "never";
  const d = nowMs - at;
  // A minute of clock skew between server and browser reads as now, not as the future.
  if (d < 1000) return d < -60_000 ? `in ${formatDuration(-d)}` : "just now";
  return `${formatDuration(d)} ago`;
}

/** A local time "2024-05-01 13:04:05" (the date left out when `short` and it is `nowMs`'s day). */
export function formatTime(atMs: Num, opts: { nowMs?: number; seconds?: boolean } = {}): string {
  const at = toNum(atMs);
  if (at <= 0 || !Number.isFinite(at)) return "–";
  const d = new Date(at);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${opts.seconds === false ? "" : `:${pad(d.getSeconds())}`}`;
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (opts.nowMs !== undefined) {
    const n = new Date(opts.nowMs);
    if (n.getFullYear() === d.getFullYear() && n.getMonth() === d.getMonth() && n.getDate() === d.getDate()) return time;
  }
  return `${date} ${time}`;
}

/** The ISO time for `<time datetime>` and titles. */
export function isoTime(atMs: Num): string {
  const at = toNum(atMs);
  return at > 0 && Number.isFinite(at) ? new Date(at).toISOString() : "";
}

/** A byte count as "812 B", "14.2 kB", "1.31 MB". */
export function formatBytes(n: Num): string {
  const v = toNum(n);
  if (!Number.isFinite(v)) return "–";
  if (v < 1000) return `${v} B`;
  if (v < 1e6) return `${Number((v / 1000).toPrecision(3))} kB`;
  return `${Number((v / 1e6).toPrecision(3))} MB`;
}

/** A config value (JSON text) shown on one line: strings unquoted when plain, the rest as JSON. */
export function formatConfigValue(valueJson: string): string {
  try {
    const v: unknown = JSON.parse(valueJson);
    if (typeof v === "string") return v;
    return JSON.stringify(v);
  } catch {
    return valueJson;
  }
}

/** The YAML an editor starts from for a JSON value (the server takes YAML; JSON is valid YAML). */
export function jsonToYamlInput(valueJson: string): string {
  try {
    const v: unknown = JSON.parse(valueJson);
    if (typeof v === "string" && /^[A-Za-z_][\w./:-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|~)$/i.test(v)) return v;
    return JSON.stringify(v);
  } catch {
    return valueJson;
  }
}

/** Text cut to `max` characters with an ellipsis. */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}
