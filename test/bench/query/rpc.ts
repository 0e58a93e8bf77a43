/**
 * Section 2 of bench:query: QueryService calls through a real @grpc/grpc-js client (messages made
 * by protobuf-es `create`, as test/integration/query-service.test.ts calls it), timed with
 * process.hrtime.bigint around each call: a warm-up, `n` sequential calls, then 4 callers at once
 * (distinct `shoal-caller` metadata, so the per-caller cap does not count them together).
 */
import { create, type DescMessage } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { grpcServiceDefinition } from "../../../src/grpc/index.js";
import { QueryService, Resolution } from "../../../src/gen/shoal/v1/query_pb.js";
import { procSample } from "../e2e/procstat.js";

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void;

export class QueryClient {
  private readonly client: grpc.Client & Record<string, Unary>;
  private readonly inputs = new Map(QueryService.methods.map((m) => [m.name, m.input as DescMessage]));

  constructor(address: string) {
    const Ctor = grpc.makeGenericClientConstructor(grpcServiceDefinition(QueryService), "QueryService");
    this.client = new Ctor(address, grpc.credentials.createInsecure()) as typeof this.client;
  }

  call<T>(method: string, req: unknown, caller = "bench"): Promise<T> {
    const md = new grpc.Metadata();
    md.set("shoal-caller", caller);
    const msg = create(this.inputs.get(method)!, req as never);
    return new Promise<T>((resolve, reject) =>
      this.client[method]!.call(this.client, msg, md, { deadline: Date.now() + 30_000 }, (e, r) => (e ? reject(e) : resolve(r as T))),
    );
  }

  close(): void {
    this.client.close();
  }
}

/** One benchmarked call: the method and a request maker (`i`: the call's number, for random picks). */
export interface CallCase {
  readonly name: string;
  readonly method: string;
  readonly request: (i: number) => unknown;
  /** The target p99, ms (printed beside the measurement), if any. */
  readonly targetP99Ms?: number;
  /** What the answer says worth printing (resolution and bucket, items). */
  readonly describe: (res: unknown) => string;
}

export interface CaseResult {
  readonly name: string;
  readonly run: string;
  readonly calls: number;
  readonly errors: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly perSec: number;
  /** CPU ms per call of ClickHouse and of this process (gRPC client and server, read model). */
  readonly chCpuMs: number;
  readonly nodeCpuMs: number;
  readonly answers: string;
  readonly target: string;
}

export const quantile = (sorted: readonly number[], q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);

async function timed(client: QueryClient, c: CallCase, i: number, caller: string, ms: number[], answers: Map<string, number>, errors: string[]): Promise<void> {
  const t = process.hrtime.bigint();
  try {
    const res = await client.call(c.method, c.request(i), caller);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    const a = c.describe(res);
    answers.set(a, (answers.get(a) ?? 0) + 1);
  } catch (e) {
    errors.push(`${(e as grpc.ServiceError).code}: ${(e as Error).message.slice(0, 120)}`);
  }
}

/** CPU used by ClickHouse (`chPid`) and this process from now until the returned function is called, ms. */
function cpuMeter(chPid: number | undefined): () => { ch: number; node: number } {
  const ch0 = chPid ? procSample(chPid)?.cpuMs ?? 0 : 0;
  const n0 = process.cpuUsage();
  return () => {
    const n = process.cpuUsage(n0);
    return { ch: (chPid ? procSample(chPid)?.cpuMs ?? 0 : 0) - ch0, node: (n.user + n.system) / 1000 };
  };
}

function result(c: CallCase, run: string, ms: number[], wallMs: number, answers: Map<string, number>, errors: string[], cpu: { ch: number; node: number }): CaseResult {
  const s = [...ms].sort((a, b) => a - b);
  if (errors.length > 0) console.error(`  ${c.name} (${run}): ${errors.length} errors, first: ${errors[0]}`);
  const p99 = quantile(s, 0.99);
  return {
    name: c.name,
    run,
    calls: ms.length + errors.length,
    errors: errors.length,
    p50: quantile(s, 0.5),
    p95: quantile(s, 0.95),
    p99,
    max: s.at(-1) ?? NaN,
    perSec: (ms.length * 1000) / wallMs,
    chCpuMs: cpu.ch / Math.max(1, ms.length + errors.length),
    nodeCpuMs: cpu.node / Math.max(1, ms.length + errors.length),
    answers: [...answers].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([a, n]) => `${a} ×${n}`).join("; "),
    target: c.targetP99Ms === undefined ? "-" : `p99 < ${c.targetP99Ms} ms: ${p99 < c.targetP99Ms ? "met" : "MISSED"}`,
  };
}

/** `warmup` calls, then `n` sequential calls, then `callers` concurrent loops of n / callers calls each. */
export async function runCase(client: QueryClient, c: CallCase, n: number, warmup: number, callers: number, chPid?: number): Promise<CaseResult[]> {
  for (let i = 0; i < warmup; i++) await client.call(c.method, c.request(1_000_000 + i)).catch(() => {});
  const out: CaseResult[] = [];
  {
    const ms: number[] = [];
    const answers = new Map<string, number>();
    const errors: string[] = [];
    const t = performance.now();
    const cpu = cpuMeter(chPid);
    for (let i = 0; i < n; i++) await timed(client, c, i, "bench", ms, answers, errors);
    out.push(result(c, "sequential", ms, performance.now() - t, answers, errors, cpu()));
  }
  if (callers > 1) {
    const ms: number[] = [];
    const answers = new Map<string, number>();
    const errors: string[] = [];
    const per = Math.ceil(n / callers);
    const t = performance.now();
    const cpu = cpuMeter(chPid);
    await Promise.all(
      Array.from({ length: callers }, async (_, k) => {
        for (let i = 0; i < per; i++) await timed(client, c, 2_000_000 + k * per + i, `bench-${k}`, ms, answers, errors);
      }),
    );
    out.push(result(c, `${callers} callers`, ms, performance.now() - t, answers, errors, cpu()));
  }
  return out;
}

export function resolutionOf(res: { resolution: Resolution; bucketMs: bigint; points: unknown[] }): string {
  const r = Resolution[res.resolution] ?? String(res.resolution);
  const b = Number(res.bucketMs);
  const width = b === 0 ? "" : b % 3_600_000 === 0 ? ` ${b / 3_600_000} h` : ` ${b / 60_000} min`;
  return `${r}${width}, ${res.points.length} points`;
}

export function caseRow(r: CaseResult): Record<string, string | number> {
  const f = (x: number) => (Number.isNaN(x) ? "-" : Number(x.toFixed(1)));
  return { call: r.name, run: r.run, calls: r.calls, errors: r.errors, "p50 ms": f(r.p50), "p95 ms": f(r.p95), "p99 ms": f(r.p99), "max ms": f(r.max), "calls/s": Math.round(r.perSec), "CPU ms/call CH": Number(r.chCpuMs.toFixed(1)), "CPU ms/call node": Number(r.nodeCpuMs.toFixed(1)), target: r.target, answer: r.answers };
}
