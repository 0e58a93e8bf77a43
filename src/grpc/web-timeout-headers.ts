import type { IncomingHttpHeaders } from "node:http";

/** The longest delay a Node timer takes, ms (2^31 − 1); a longer one fires after 1 ms, with a warning. */
const MAX_TIMER_MS = 2_147_483_647;

const GRPC_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * Removes a deadline header longer than a Node timer can wait (`grpc-timeout`, gRPC-web's
 * `<digits><unit>`, e.g. `99999999H`, or Connect's `connect-timeout-ms`). connect-node hands such a
 * value to `setTimeout`, which fires after 1 ms instead (Node prints a TimeoutOverflowWarning per
 * request): a client asking for a deadline of years got DEADLINE_EXCEEDED at once. Without the
 * header the call has no client deadline, and the port's own per-call limit (policy.timeoutMs)
 * ends it, as it ends every call whose deadline is later. Malformed values are left for connect
 * to refuse.
 */
export function dropOverlongDeadlines(headers: IncomingHttpHeaders): void {
  const g = headers["grpc-timeout"];
  if (typeof g === "string") {
    const m = /^(\d{1,8})([HMSmun])$/.exec(g);
    if (m !== null && Number(m[1]) * GRPC_UNIT_MS[m[2]!]! > MAX_TIMER_MS) delete headers["grpc-timeout"];
  }
  const c = headers["connect-timeout-ms"];
  if (typeof c === "string" && /^\d{1,10}$/.test(c) && Number(c) > MAX_TIMER_MS) delete headers["connect-timeout-ms"];
}
