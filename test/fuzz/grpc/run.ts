import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { Rng } from "../ingest/mutator.js";
import { grpcCall, httpCall, type CallResult } from "./caller.js";
import { callCase } from "./requests.js";
import { TOKENS, type FuzzServers, type Target } from "./services.js";

/**
 * Malformed requests at one service: `n` calls spread over its RPCs (round robin), `concurrency`
 * in flight, over its real port. The property of every call: it ends with a status that says why
 * (a non-OK status has a message), never a hang; the process does not crash; and the server
 * still answers a health check afterwards (and every `healthEvery` calls).
 */

/** Figures of one service. */
export interface ServiceStats {
  readonly service: string;
  calls: number;
  byCode: Record<string, number>;
  /** Calls per request kind. */
  byKind: Record<string, number>;
  /**
   * Per RPC: calls, and of them those answered past the token check and the request's parsing
   * (OK, an open stream, or a status the implementation gives: INVALID_ARGUMENT, NOT_FOUND,
   * FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED, OUT_OF_RANGE).
   */
  byMethod: Record<string, { calls: number; reached: number }>;
  hangs: number;
  /** Non-OK statuses without a message. */
  noReason: number;
  /** Calls the client library refused to send (invalid metadata): not sent, not counted as answers. */
  clientRefused: number;
  /** Health checks after batches: passed / run. */
  healthOk: number;
  healthRuns: number;
  /** Unexpected errors the service reported (its onInternalError), by method and message. */
  internalErrors: number;
  elapsedMs: number;
  examples: string[];
}

/** How to fuzz one service. */
export interface FuzzServiceOptions {
  /** Calls to send (those the client library refuses to send count too). */
  readonly n: number;
  /** Call i's request is made from (seed, i) alone: a run is reproducible whatever the timing. */
  readonly seed: number;
  /** Calls in flight. Default 32. */
  readonly concurrency?: number;
  /** The client's deadline per call, ms (past it: a hang). Default 20,000. */
  readonly deadlineMs?: number;
  /** Silence after which an accepted server stream counts as OPEN, ms. Default 250. */
  readonly streamWaitMs?: number;
  /** Health check every this many calls. Default 10,000. */
  readonly healthEvery?: number;
  readonly maxExamples?: number;
}

/** The largest message each port accepts (the oversized requests go past it). */
function maxBytesOf(t: Target): number {
  if (t.httpUrl !== undefined) return 1024 * 1024;
  if (t.service.typeName === "shoal.v1.ModelGatewayService") return 16 * 1024 * 1024;
  if (t.service.typeName === "shoal.v1.AdminService") return 4 * 1024 * 1024;
  return 1024 * 1024;
}

const REACHED = new Set(["OK", "OPEN", "INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "ALREADY_EXISTS", "ABORTED", "OUT_OF_RANGE"]);

type HealthClient = grpc.Client & { check(req: { service: string }, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void };

/** SERVING from the gRPC server's health service, or a valid call answered on the HTTP port. */
async function healthy(t: Target): Promise<boolean> {
  if (t.grpcAddress !== undefined) {
    const Health = grpc.makeGenericClientConstructor(healthService, "Health");
    const h = new Health(t.grpcAddress, grpc.credentials.createInsecure()) as unknown as HealthClient;
    try {
      return await new Promise<boolean>((res) => h.check({ service: "" }, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (e, r) => res(e === null && r.status === "SERVING")));
    } finally {
      h.close();
    }
  }
  // The first unary RPC, else the first List* (one of them needs no argument in every service; a
  // call refused for its empty request proves little): healthy when one answers OK.
  const unary = t.service.methods.filter((m) => m.methodKind === "unary");
  for (const method of new Set([unary[0]!, ...unary.filter((m) => m.name.startsWith("List")).slice(0, 1)])) {
    const res = await fetch(`${t.httpUrl}/${t.service.typeName}/${method.name}`, {
      method: "POST",
      headers: { "content-type": "application/json", "connect-protocol-version": "1", authorization: `Bearer ${TOKENS.admin}` },
      body: "{}",
      signal: AbortSignal.timeout(10_000),
    });
    await res.text();
    if (res.status === 200) return true;
  }
  return false;
}

/** Sends `o.n` malformed calls at `t` and returns what they ended with (see {@link ServiceStats}). */
export async function fuzzService(t: Target, servers: FuzzServers, o: FuzzServiceOptions): Promise<ServiceStats> {
  const started = performance.now();
  const concurrency = o.concurrency ?? 32;
  const opts = { deadlineMs: o.deadlineMs ?? 20_000, streamWaitMs: o.streamWaitMs ?? 250 };
  const healthEvery = o.healthEvery ?? 10_000;
  const maxExamples = o.maxExamples ?? 10;
  const maxBytes = maxBytesOf(t);
  const methods = t.service.methods;
  const s: ServiceStats = { service: t.service.typeName, calls: 0, byCode: {}, byKind: {}, byMethod: {}, hangs: 0, noReason: 0, clientRefused: 0, healthOk: 0, healthRuns: 0, internalErrors: 0, elapsedMs: 0, examples: [] };
  const internalBefore = servers.internalErrors.length;
  let internalShown = 0;
  const client = t.grpcAddress === undefined ? undefined : new grpc.Client(t.grpcAddress, grpc.credentials.createInsecure(), { "grpc.max_send_message_length": -1, "grpc.max_receive_message_length": -1 });
  let next = 0;
  let sinceHealth = 0;
  let healthGate: Promise<void> = Promise.resolve();
  const check = async () => {
    s.healthRuns++;
    if (await healthy(t).catch(() => false)) s.healthOk++;
    else if (s.examples.length < maxExamples) s.examples.push(`health check failed after ${s.calls} calls`);
  };
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= o.n) return;
      await healthGate;
      const method = methods[i % methods.length]!;
      // One generator per call, from the seed and the call's index: the same calls whatever order they finish in.
      const rng = new Rng(Math.imul(o.seed, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b));
      const c = callCase(rng, method, maxBytes);
      const r: CallResult = client ? await grpcCall(client, t.service, method, c, opts) : await httpCall(t.httpUrl!, t.service, method, c, opts, rng.next());
      if (r.code === "CLIENT_REFUSED") {
        s.clientRefused++;
        continue;
      }
      s.calls++;
      s.byCode[r.code] = (s.byCode[r.code] ?? 0) + 1;
      s.byKind[c.kind] = (s.byKind[c.kind] ?? 0) + 1;
      const m = (s.byMethod[method.name] ??= { calls: 0, reached: 0 });
      m.calls++;
      if (REACHED.has(r.code)) m.reached++;
      let problem: string | undefined;
      if (r.code === "HANG") {
        s.hangs++;
        problem = "no status (hang)";
      } else if (r.code !== "OK" && r.code !== "OPEN" && r.details.trim() === "") {
        s.noReason++;
        problem = `${r.code} without a message`;
      }
      // INTERNAL with a message is an answer, not a failure of the run, but worth seeing: an example or two.
      if (problem === undefined && r.code === "INTERNAL" && internalShown++ < 2) s.examples.push(`${method.name} (${c.kind}, ${c.body.length} bytes): INTERNAL: ${r.details}`);
      if (problem !== undefined && s.examples.length < maxExamples) {
        s.examples.push(`${method.name} (${c.kind}, auth ${c.auth}, ${c.body.length} bytes ${c.body.subarray(0, 48).toString("hex")}): ${problem}: ${r.details}`);
      }
      if (++sinceHealth >= healthEvery) {
        sinceHealth = 0;
        healthGate = check();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await healthGate;
  await check();
  client?.close();
  const internal = servers.internalErrors.slice(internalBefore);
  s.internalErrors = internal.length;
  for (const [method, msg] of internal.slice(0, 3)) if (s.examples.length < maxExamples + 3) s.examples.push(`internal error reported by ${method}: ${msg}`);
  s.elapsedMs = performance.now() - started;
  return s;
}
