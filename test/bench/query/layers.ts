/**
 * Where the targeted calls' time goes, layer by layer, for the same requests: ClickHouse's own
 * execution (FORMAT JSON statistics of the statements the read model sends), the read model's
 * methods called directly (@clickhouse/client over HTTP, JSON parsing: what QueryService awaits),
 * and the whole call through gRPC (protobuf, grpc-js, the service's validation and conversion).
 */
import { createClickHouseReadModel } from "../../../src/adapters/clickhouse/read-model.js";
import { chooseResolution } from "../../../src/query/resolution.js";
import type { ListDevicesRequest, ListReadingsRequest } from "../../../src/gen/shoal/v1/query_pb.js";
import { quantile, type CallCase, type QueryClient } from "./rpc.js";
import { sqlStats, type SqlRecorder } from "./sql-probe.js";
import { chOptions } from "./load.js";

type ReadModel = ReturnType<typeof createClickHouseReadModel>;

const DAY = 86_400_000;

/** The read model's part of a call, as QueryService does it. */
async function direct(rm: ReadModel, method: string, req: unknown): Promise<void> {
  if (method === "ListReadings") {
    const r = req as ListReadingsRequest;
    const [id, fromMs, toMs, maxPoints] = [r.deviceId, Number(r.fromMs), Number(r.toMs), r.maxPoints || 1000];
    const raw = await rm.countReadings(id, r.metric, fromMs, toMs);
    const res = chooseResolution(fromMs, toMs, maxPoints, raw);
    await rm.series({ deviceId: id, metric: r.metric, fromMs, toMs, tier: res.tier, bucketMs: res.bucketMs, limit: maxPoints });
    return;
  }
  if (method === "ListDevices") {
    const r = req as ListDevicesRequest;
    await rm.listDevices({ prefix: r.idPrefix ?? "", after: "", limit: (r.pageSize || 100) + 1, anomaliesSinceMs: Date.now() - DAY });
    return;
  }
  throw new Error(`no direct form of ${method}`);
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: Number(quantile(s, 0.5).toFixed(1)), p99: Number(quantile(s, 0.99).toFixed(1)) };
};

export async function layerRows(chUrl: string, db: string, cases: readonly CallCase[], client: QueryClient, rec: SqlRecorder, probe: QueryClient, n: number): Promise<Record<string, string | number>[]> {
  const rm = createClickHouseReadModel(chOptions(chUrl, db), { maxExecutionMs: 30_000 });
  const out: Record<string, string | number>[] = [];
  try {
    for (const c of cases) {
      if (!c.targetP99Ms) continue;
      const chMs: number[] = [];
      const rtMs: number[] = [];
      const rmMs: number[] = [];
      const rpcMs: number[] = [];
      for (let i = 0; i < n; i++) {
        const req = c.request(4_000_000 + i);
        // The statements this request makes (through the recording proxy), then each run directly.
        const from = rec.log.length;
        await probe.call(c.method, req);
        let ch = 0;
        let rt = 0;
        for (const r of rec.since(from)) {
          const s = await sqlStats(chUrl, db, r.sql.replace(/\s+FORMAT\s+\w+\s*$/, ""), 1);
          ch += s.p50Ms;
          rt += s.wallMs;
        }
        chMs.push(ch);
        rtMs.push(rt);
        let t = process.hrtime.bigint();
        await direct(rm, c.method, req);
        rmMs.push(Number(process.hrtime.bigint() - t) / 1e6);
        t = process.hrtime.bigint();
        await client.call(c.method, req);
        rpcMs.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const rows: [string, number[]][] = [
        ["ClickHouse executing its statements (statistics.elapsed, summed)", chMs],
        ["+ HTTP round trips and ClickHouse's output (plain fetch, FORMAT JSON)", rtMs],
        ["read model methods called directly (@clickhouse/client, JSON)", rmMs],
        ["whole call through gRPC (client side)", rpcMs],
      ];
      rows.forEach(([layer, xs], k) => out.push({ call: k === 0 ? c.name : "", layer, "p50 ms": stats(xs).p50, "p99 ms": stats(xs).p99, target: k === 3 ? `p99 < ${c.targetP99Ms} ms` : "" }));
    }
  } finally {
    await rm.close();
  }
  return out;
}
