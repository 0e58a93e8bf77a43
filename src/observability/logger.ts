import { pino, type Logger } from "pino";

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

/** Structured JSON logger (pino) with secrets redacted. `destination` defaults to stdout. */
export function createLogger(opts: { level: string; name: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    // `name` is the process role; a role inside `shoal up` logs through `child({ role })`, so the base
    // carries no "role" of its own (a record had it twice).
    { level: opts.level, name: opts.name, redact: { paths: REDACT_PATHS, censor: "[redacted]" }, base: { pid: process.pid } },
    opts.destination ?? pino.destination({ sync: false }),
  );
}

export type { Logger };
