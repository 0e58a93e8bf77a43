// bench:runtime rows "tracing off / 1 % / 100 %" (issue 18, docs/adr/0023-tracing.md): the runtime
// role's path (journal bytes → worker pool → device actors → RowBinary rows) with the runtime's
// tracing off, and on with 1 % or 100 % of the readings carrying a sampled trace context (as the
// bridge writes them). With tracing on, the main thread exports every traced turn's span and an
// insert span per traced batch through the real OpenTelemetry SDK, to an exporter that drops them
// (the collector's network cost is not the runtime's). Variants run interleaved on the same parts.
import { availableParallelism } from "node:os";
import type { JournalBytes, RuntimeHost } from "../../src/ports/actor-host.js";
import type { Tracing } from "../../src/ports/tracing.js";
import { encodeReading } from "../../src/domain/reading-codec.js";
import { packJournal } from "../../src/runtime/journal-batch.js";
import { fnv1a32 } from "../../src/base/hash.js";
import { formatTraceparent, newSpanId, newTraceId } from "../../src/base/trace-context.js";
import { MemorySnapshotStore } from "../../src/runtime/testing/memory-snapshot-store.js";
import { WorkerPoolHost } from "../../src/runtime/worker-pool-host.js";
import { createTracing, type SpanExporter } from "../../src/observability/tracing.js";
import { writeTraced } from "../../src/node/trace-effects.js";
import { BATCH, N_DEVICES, N_READINGS, P, REPEAT, driveJournal, fmt, median, row, type PackedBatch } from "./runtime-bench-common.js";

type Batch = PackedBatch;

/** The journal with every `every`-th reading traced (0: none). */
function journal(every: number): Batch[] {
  const perDevice = Math.max(1, Math.ceil(N_READINGS / N_DEVICES));
  const out: Batch[] = [];
  const open: JournalBytes[][] = Array.from({ length: P }, () => []);
  let n = 0;
  for (let seq = 1; seq <= perDevice; seq++) {
    for (let d = 0; d < N_DEVICES; d++) {
      const deviceId = `dev-${d}`;
      const p = fnv1a32(deviceId) % P;
      n++;
      const trace = every > 0 && n % every === 0 ? formatTraceparent(newTraceId(), newSpanId()) : undefined;
      open[p]!.push({ data: encodeReading({ deviceId, seq, tsMs: 1_700_000_000_000 + seq * 1000, metrics: { temp: 20 + Math.sin(seq + d) }, ...(trace ? { trace } : {}) }), streamSeq: n });
      if (open[p]!.length === BATCH) {
        out.push({ partition: p, packed: packJournal(p, open[p]!), length: BATCH });
        open[p] = [];
      }
    }
  }
  for (let p = 0; p < P; p++) if (open[p]!.length > 0) out.push({ partition: p, packed: packJournal(p, open[p]!), length: open[p]!.length });
  return out;
}

/** Drops what it is given (the SDK's processing is measured, not a collector's network). */
const dropExporter: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};

async function drive(host: RuntimeHost, tracing: Tracing | undefined, batches: readonly Batch[], inFlight: number): Promise<{ rate: number; cores: number; spans: number }> {
  let spans = 0;
  const r = await driveJournal(
    host,
    batches,
    inFlight,
    async (fx) => {
      if (fx.spans !== undefined && tracing !== undefined) {
        spans += fx.spans.length;
        await writeTraced(tracing, fx, () => Promise.resolve());
      }
    },
    // The spans' export is part of the run (and must not spill into the next variant's run).
    async () => await tracing?.flush(),
  );
  return { ...r, spans };
}

export async function benchTracing(): Promise<void> {
  const workers = availableParallelism();
  const decoder = { module: new URL("../../src/domain/journal-envelopes.ts", import.meta.url).href, export: "journalEnvelope" };
  const logics = [{ module: new URL("../../actors/device/index.ts", import.meta.url).href, export: "createDeviceActor", args: [{ alertRules: [] }] }];
  const variants = [
    { name: "tracing off", every: 0, on: false },
    { name: "tracing on, 1 % of readings traced", every: 100, on: true },
    { name: "tracing on, 100 % of readings traced", every: 1, on: true },
  ];
  const pools = await Promise.all(
    variants.map(async (v) => {
      const batches = journal(v.every);
      const per = Math.ceil(batches.length / (REPEAT + 1));
      return {
        ...v,
        parts: Array.from({ length: REPEAT + 1 }, (_, k) => batches.slice(k * per, (k + 1) * per)),
        host: await WorkerPoolHost.create({ snapshots: new MemorySnapshotStore(), partitions: P, snapshotEveryMessages: 10_000, logics, decoder, workers, traceTurns: v.on, traceKeptTurns: v.on }),
        tracing: v.on ? createTracing({ endpoint: "", sampleRatio: 0.01, anomalies: true, maxQueue: 20_000 }, "shoal-bench", dropExporter) : undefined,
        runs: [] as { rate: number; cores: number; spans: number }[],
      };
    }),
  );
  for (const p of pools) await drive(p.host, p.tracing, p.parts[0]!, 2 * workers);
  for (let k = 1; k <= REPEAT; k++) for (const p of pools) p.runs.push(await drive(p.host, p.tracing, p.parts[k]!, 2 * workers));
  const off = pools[0]!.runs;
  for (const p of pools) {
    const rate = median(p.runs.map((r) => r.rate));
    const cores = median(p.runs.map((r) => r.cores));
    // Run k of a variant against run k of "off" (neighbours in time): the machine's drift cancels.
    const ratio = median(p.runs.map((r, k) => r.rate / off[k]!.rate));
    row(
      `WorkerPoolHost, ${workers} workers, device actor, journal bytes, ${p.name}`,
      `${fmt(rate)} readings/s`,
      `(${(ratio * 100).toFixed(1)} % of tracing off, median of the per-run ratios; ${REPEAT} interleaved runs: ${p.runs.map((r) => fmt(r.rate)).join(", ")}; ${cores.toFixed(2)} cores busy; ${fmt(median(p.runs.map((r) => r.spans)))} turn spans per run)`,
    );
    await p.tracing?.close();
    await p.host.close();
  }
}
