import { pino, type Logger } from "pino";
import { redactUrlPasswords } from "../base/url-credentials.js";

/** Paths of values that are secrets wherever they appear in a log record (never logged). */
export const REDACT_PATHS = [
  "password",
  "*.password",
  "*.*.password",
  "token",
  "*.token",
  "*.*.token",
  "apiKey",
  "*.apiKey",
  "*.*.apiKey",
  "secretKey",
  "*.secretKey",
  "authorization",
  "*.authorization",
];

/**
 * The record with the password of every URL in its string values replaced (depth-limited): a
 * NATS, Redis or MQTT URL may carry credentials, and roles log the URLs they connect to.
 */
export function scrubUrlCredentials(v: unknown, depth = 0): unknown {
  if (typeof v === "string") return redactUrlPasswords(v, "[redacted]");
  if (depth > 4 || typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => scrubUrlCredentials(x, depth + 1));
  if (v instanceof Error) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = scrubUrlCredentials(x, depth + 1);
  return out;
}

/**
 * Structured JSON logger (pino) with secrets redacted: values at secret paths, and the password of
 * any URL in a logged value. `destination` defaults to stdout.
 */
export function createLogger(opts: { level: string; name: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    // `name` is the process role; a role inside `shoal up` logs through `child({ role })`, so the base
    // carries no "role" of its own (a record had it twice).
    {
      level: opts.level,
      name: opts.name,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: { pid: process.pid },
      formatters: { log: (record) => scrubUrlCredentials(record) as Record<string, unknown> },
    },
    opts.destination ?? pino.destination({ sync: false }),
  );
}

export type { Logger };
