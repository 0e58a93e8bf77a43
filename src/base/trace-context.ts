import { randomFillSync } from "node:crypto";

/**
 * W3C trace context (https://www.w3.org/TR/trace-context/) as plain strings: `traceparent` is
 * `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. The one place that parses, makes and
 * derives them; threads without a tracer (the actor host's workers) use it to give a span its ids.
 */

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/** A parsed `traceparent`. */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  /** The sampled flag (bit 0 of the flags). */
  readonly sampled: boolean;
}

/** The context of a `traceparent`, or undefined when it is not a valid version-00 value. */
export function parseTraceparent(s: string | undefined): TraceContext | undefined {
  if (s === undefined || s.length !== 55) return undefined;
  const m = TRACEPARENT.exec(s);
  if (m === null || m[1] === ZERO_TRACE || m[2] === ZERO_SPAN) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, sampled: (parseInt(m[3]!, 16) & 1) === 1 };
}

/** `traceparent` of a sampled span. */
export function formatTraceparent(traceId: string, spanId: string): string {
  return `00-${traceId}-${spanId}-01`;
}

// Ids are cut from a pool of random bytes refilled 4 KiB at a time (one system call per 512 span
// ids instead of one each: a traced turn costs a few hundred ns less).
const pool = Buffer.alloc(4096);
let used = pool.length;

function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const s = pool.toString("hex", used, used + bytes);
  used += bytes;
  return s;
}

/** A random span id (16 hex digits, never all zero). */
export function newSpanId(): string {
  const id = randomHex(8);
  return id === ZERO_SPAN ? newSpanId() : id;
}

/** A random trace id (32 hex digits, never all zero). */
export function newTraceId(): string {
  const id = randomHex(16);
  return id === ZERO_TRACE ? newTraceId() : id;
}
