/**
 * Parsing of human-friendly durations and sizes. Both are parsed once, at configuration
 * resolution, into plain numbers (`...Ms`, `...Bytes`) so no other code ever parses units.
 */

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const SIZE_UNITS_BYTES: Readonly<Record<string, number>> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const SIZE_RE = /^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB)$/;

/** Human description of the accepted duration syntax, used in validation messages. */
export const DURATION_HINT = 'expected a number of ms or a string like "250ms", "2s", "5m", "1h", "7d"';
/** Human description of the accepted size syntax, used in validation messages. */
export const SIZE_HINT = 'expected a number of bytes or a string like "512B", "16KiB", "1MiB", "1GiB"';

/**
 * Parse a duration: a non-negative number of milliseconds, or a string `<n><unit>` with unit
 * ms|s|m|h|d (one unit, no spaces). Returns whole milliseconds, or `undefined` when invalid.
 */
export function parseDuration(input: unknown): number | undefined {
  if (typeof input === "number") return Number.isFinite(input) && input >= 0 ? Math.round(input) : undefined;
  if (typeof input !== "string") return undefined;
  const m = DURATION_RE.exec(input.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * DURATION_UNITS_MS[m[2]!]!);
}

/**
 * Parse a size: a non-negative integer number of bytes, or a string `<n><unit>` with binary
 * unit B|KiB|MiB|GiB. Returns whole bytes, or `undefined` when invalid.
 */
export function parseSize(input: unknown): number | undefined {
  if (typeof input === "number") return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  if (typeof input !== "string") return undefined;
  const m = SIZE_RE.exec(input.trim());
  if (!m) return undefined;
  const bytes = Number(m[1]) * SIZE_UNITS_BYTES[m[2]!]!;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
