/**
 * Where a QueryService call's time goes, on ClickHouse 18.16 (no EXPLAIN, and the harness config
 * has no system.query_log): `SqlRecorder` is an HTTP proxy between a query role and ClickHouse that
 * records every statement the read model sends and how long ClickHouse took to answer it;
 * `sqlStats` runs one statement directly with FORMAT JSON, whose `statistics` give ClickHouse's own
 * elapsed time and the rows and bytes it read — the evidence for the variants in sql-variants.ts.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { procSample } from "../e2e/procstat.js";
import { quantile } from "./rpc.js";

export interface Recorded {
  readonly sql: string;
  readonly ms: number;
  readonly startedAt: number;
}

export class SqlRecorder {
  private server: Server | undefined;
  readonly log: Recorded[] = [];

  constructor(private readonly target: string) {}

  /** Listen on a free loopback port; returns the proxy's URL. */
  async start(): Promise<string> {
    const t = new URL(this.target);
    this.server = createServer((req, res) => {
      const body: Buffer[] = [];
      req.on("data", (b: Buffer) => body.push(b));
      req.on("end", () => {
        const startedAt = performance.now();
        const payload = Buffer.concat(body);
        const url = new URL(req.url ?? "/", this.target);
        const sql = (url.searchParams.get("query") ?? "") + payload.toString("utf8");
        const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
          ur.on("end", () => this.log.push({ sql: sql.trim(), ms: performance.now() - startedAt, startedAt }));
        });
        up.on("error", (e) => {
          res.writeHead(502);
          res.end(String(e));
        });
        up.end(payload);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Statements recorded since `from` (an index into `log`). */
  since(from: number): Recorded[] {
    return this.log.slice(from);
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A statement's shape: literals replaced, whitespace collapsed (groups the recorded statements). */
export function shape(sql: string): string {
  return sql
    .replace(/'(?:[^'\\]|\\.)*'/g, "?")
    .replace(/\b\d+(\.\d+)?\b/g, "N")
    .replace(/\s+/g, " ")
    .replace(/\(\?(, \?)+\)/g, "(?…)")
    .slice(0, 160);
}

export interface SqlStats {
  /** ClickHouse's elapsed time (statistics.elapsed), ms: median and max of the runs. */
  readonly p50Ms: number;
  readonly maxMs: number;
  /** Round trip from here, ms (median). */
  readonly wallMs: number;
  readonly rowsRead: number;
  readonly bytesRead: number;
  readonly resultRows: number;
  /** ClickHouse CPU per run (all its threads), ms; NaN without a pid. */
  readonly cpuMs: number;
}

/** Run `sql` `runs` times on `database` with FORMAT JSON; ClickHouse's statistics of the runs. */
export async function sqlStats(chUrl: string, database: string, sql: string, runs: number, chPid?: number): Promise<SqlStats> {
  const elapsed: number[] = [];
  const cpu0 = chPid ? procSample(chPid)?.cpuMs : undefined;
  const wall: number[] = [];
  let last: { statistics: { elapsed: number; rows_read: number; bytes_read: number }; rows: number } | undefined;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const res = await fetch(`${chUrl}/?database=${database}`, { method: "POST", body: `${sql} FORMAT JSON` });
    const text = await res.text();
    if (!res.ok) throw new Error(`ClickHouse ${res.status}: ${text.slice(0, 400)}\n${sql}`);
    wall.push(performance.now() - t);
    last = JSON.parse(text) as typeof last;
    elapsed.push(last!.statistics.elapsed * 1000);
  }
  elapsed.sort((a, b) => a - b);
  wall.sort((a, b) => a - b);
  const cpu1 = chPid ? procSample(chPid)?.cpuMs : undefined;
  return {
    cpuMs: cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / runs : NaN,
    p50Ms: quantile(elapsed, 0.5),
    maxMs: elapsed.at(-1)!,
    wallMs: quantile(wall, 0.5),
    rowsRead: last!.statistics.rows_read,
    bytesRead: last!.statistics.bytes_read,
    resultRows: last!.rows,
  };
}

/** Per RPC: the statements it sent (by shape) with their median ClickHouse time as the role saw it. */
export function breakdownRows(rpc: string, perCall: Recorded[][], rpcMs: number[]): Record<string, string | number>[] {
  const byShape = new Map<string, number[]>();
  for (const call of perCall) for (const r of call) byShape.set(shape(r.sql), [...(byShape.get(shape(r.sql)) ?? []), r.ms]);
  const med = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);
  // Outside ClickHouse: the call less its statements (GetDevice runs three at once: less than that).
  const outside = perCall.map((call, i) => rpcMs[i]! - call.reduce((a, r) => a + r.ms, 0));
  const rows: Record<string, string | number>[] = [
    { call: rpc, statement: "(whole call through gRPC, client side)", "per call": 1, "p50 ms": Number(med(rpcMs).toFixed(2)) },
    { call: "", statement: "(whole call less its statements: gRPC, service, HTTP client, JSON)", "per call": 1, "p50 ms": Number(med(outside).toFixed(2)) },
  ];
  for (const [s, ms] of byShape) rows.push({ call: "", statement: s, "per call": Number((ms.length / perCall.length).toFixed(1)), "p50 ms": Number(med(ms).toFixed(2)) });
  return rows;
}
