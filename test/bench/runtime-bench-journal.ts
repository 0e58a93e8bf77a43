// bench:runtime's journal rows: the runtime role's path, undecoded journal messages (protobuf
// readings, as JetStream delivers them) handed to `deliverJournal`; the host decodes them where the
// partition's actors live. One reading per message or the bridge's ReadingBatch; 1 or 3 metrics.
import { availableParallelism } from "node:os";
import { createDeviceActor } from "../../actors/device/index.js";
import type { JournalBytes, RuntimeHost } from "../../src/ports/actor-host.js";
import { encodeReading } from "../../src/domain/reading-codec.js";
import { encodeReadingBatchWire } from "../../src/domain/reading-wire-write.js";
import { journalEnvelope } from "../../src/domain/journal-envelopes.js";
import { packJournal } from "../../src/runtime/journal-batch.js";
import { createInlineHost } from "../../src/runtime/inline-host.js";
import { fnv1a32 } from "../../src/base/hash.js";
import { MemorySnapshotStore } from "../../src/runtime/testing/memory-snapshot-store.js";
import { WorkerPoolHost } from "../../src/runtime/worker-pool-host.js";
import { alertsSchema } from "../../src/config/schema-alerts.js";
import { BATCH, N_DEVICES, N_READINGS, P, REPEAT, WARMUP, driveJournal, fmt, median, row, type PackedBatch } from "./runtime-bench-common.js";
import { ALLOC_READINGS_PER_DEVICE, allocatedPerReading } from "./runtime-bench-alloc.js";

/**
 * Metrics of reading `seq` of device `d`: `temp` alone, or with 3 metrics `temp`, `humidity`
 * (tied to temp, as real sensors are) and `pressure` (the device-level model's common case).
 */
function metricsOf(seq: number, d: number, metrics: 1 | 3): Record<string, number> {
  const temp = 20 + Math.sin(seq + d);
  if (metrics === 1) return { temp };
  return { temp, humidity: 80 - 2 * temp + 0.1 * Math.cos(3 * seq + d), pressure: 1013 + Math.sin(seq / 7 + d) };
}

/** Readings per journal message in the bridge-format rows (BENCH_PER_MESSAGE): the bridge's ReadingBatch held 14.5 on average at 35,000 readings/s (bench:e2e --overload 60000). */
export const PER_MESSAGE = Math.max(2, Number(process.env.BENCH_PER_MESSAGE ?? 16));

/**
 * The runtime role's path from journal bytes. `perMessage` 1: one shoal.v1.Reading per journal
 * message (a journal written before the bridge batched); more: the bridge's ReadingBatch of that
 * many readings of one partition's devices per message. Either way ~BATCH readings per delivery.
 */
export async function benchJournalBytes(metrics: 1 | 3 = 1, perMessage = 1): Promise<void> {
  const perDevice = Math.max(1, Math.ceil(N_READINGS / N_DEVICES));
  const ids = Array.from({ length: N_DEVICES }, (_, i) => `dev-${i}`);
  // Kept packed (one buffer per batch): a million live Uint8Arrays would make every major GC of the
  // measured process mark them, which no runtime pays (JetStream's messages die with their batch).
  // Each batch gets its per-message views again right before delivery, as a pull consumer gives them.
  type Packed = PackedBatch;
  const warmup: Packed[] = [];
  const batches: Packed[] = [];
  /** Readings after the measured ones, delivered to the inline host with its allocations counted. */
  const allocPart: Packed[] = [];
  const open: JournalBytes[][] = Array.from({ length: P }, () => []);
  /** Per partition: readings in its open messages, and the encoded readings of the message being filled. */
  const openReadings = new Array<number>(P).fill(0);
  const filling: Uint8Array[][] = Array.from({ length: P }, () => []);
  let seqNo = 0;
  const endMessage = (p: number) => {
    const parts = filling[p]!;
    if (parts.length === 0) return;
    open[p]!.push({ data: perMessage === 1 ? parts[0]! : encodeReadingBatchWire(parts), streamSeq: ++seqNo });
    filling[p] = [];
  };
  /** Partition p's open messages as one packed batch into `into`. */
  const close = (p: number, into: Packed[]) => {
    endMessage(p);
    into.push({ partition: p, packed: packJournal(p, open[p]!), length: openReadings[p]! });
    open[p] = [];
    openReadings[p] = 0;
  };
  const flush = (into: Packed[]) => {
    for (let p = 0; p < P; p++) if (openReadings[p]! > 0) close(p, into);
  };
  // The first WARMUP readings of every device warm up (unmeasured): devices past the detector's
  // learning (its search runs from the ~120th reading), as a running fleet's are.
  for (let seq = 1; seq <= WARMUP + perDevice + ALLOC_READINGS_PER_DEVICE; seq++) {
    const into = seq <= WARMUP ? warmup : seq <= WARMUP + perDevice ? batches : allocPart;
    for (let d = 0; d < N_DEVICES; d++) {
      const id = ids[d]!;
      const p = fnv1a32(id) % P;
      filling[p]!.push(encodeReading({ deviceId: id, seq, tsMs: 1_700_000_000_000 + seq * 1000, metrics: metricsOf(seq, d, metrics) }));
      openReadings[p]!++;
      if (filling[p]!.length === perMessage) endMessage(p);
      if (openReadings[p] === BATCH) close(p, into);
    }
    if (seq === WARMUP) flush(warmup);
    if (seq === WARMUP + perDevice) flush(batches);
  }
  flush(allocPart);
  const total = batches.reduce((a, b) => a + b.length, 0);
  // The warm-up, then the measured readings in REPEAT consecutive parts, each one measured run.
  const per = Math.ceil(batches.length / REPEAT);
  const parts = [warmup, ...Array.from({ length: REPEAT }, (_, k) => batches.slice(k * per, (k + 1) * per))];
  const drive = async (host: RuntimeHost, inFlight: number, batches: readonly PackedBatch[]) => {
    const total = batches.reduce((a, b) => a + b.length, 0);
    let rowsOut = 0;
    let bytes = 0;
    const r = await driveJournal(host, batches, inFlight, (fx) => {
      const rows = fx.rows.get("readings");
      rowsOut += rows?.length ?? 0;
      // The ClickHouse sink sends these bytes as they are (RowBinary, encoded by the host).
      if (rows !== undefined && rows.objects.length > 0) throw new Error(`${rows.objects.length} rows not encoded`);
      for (const c of rows?.binary?.chunks ?? []) bytes += c.length;
    });
    if (rowsOut !== total) throw new Error(`rows ${rowsOut} != readings ${total}`);
    if (bytes === 0) throw new Error("no encoded rows");
    return r;
  };
  const measure = async (host: RuntimeHost, inFlight: number) => {
    await drive(host, inFlight, parts[0]!);
    const runs: { rate: number; cores: number }[] = [];
    for (const part of parts.slice(1)) runs.push(await drive(host, inFlight, part));
    const rate = median(runs.map((r) => r.rate));
    return { rate, cores: median(runs.map((r) => r.cores)), note: `median of ${REPEAT} runs of ~${fmt(total / REPEAT)} readings after ${WARMUP} per device to warm up: ${runs.map((r) => fmt(r.rate)).join(", ")}` };
  };
  const decoder = { module: new URL("../../src/domain/journal-envelopes.ts", import.meta.url).href, export: "journalEnvelope" };
  const common = { snapshots: new MemorySnapshotStore(), partitions: P, snapshotEveryMessages: 10_000 };
  const label = (metrics === 1 ? "" : `, ${metrics} metrics per reading`) + (perMessage === 1 ? "" : `, ${perMessage} readings per journal message (the bridge's ReadingBatch)`);
  const inline = createInlineHost({ ...common, logics: [createDeviceActor()], decode: journalEnvelope, encodeRows: true });
  const rInline = await measure(inline, 1);
  const stI = (await inline.introspect()).workers[0]!;
  row(`inline host, 1 thread, device actor, journal bytes${label}`, `${fmt(rInline.rate)} readings/s`, `(${rInline.note}; protobuf readings decoded + applied, rows encoded as RowBinary on the main thread; ${rInline.cores.toFixed(2)} cores busy; turn p99 ${stI.turnLatencyUs.p99.toFixed(2)} µs)`);
  const allocReadings = allocPart.reduce((a, b) => a + b.length, 0);
  const perReading = await allocatedPerReading(async () => (await drive(inline, 1, allocPart), allocReadings));
  row(`inline host, device actor, journal bytes${label}: bytes allocated per reading`, `${fmt(perReading)} B`, `(V8's sampling heap profiler over the next ${fmt(allocReadings)} readings, ${ALLOC_READINGS_PER_DEVICE} per device, collected objects included; decode, actor turn, rows and the bench's per-message views; does not move with the machine's speed)`);
  await inline.close();
  const workers = availableParallelism();
  // Alert rules off and on (the defaults of config/default.yaml), measured on alternate parts of
  // the journal so the machine's drift hits both alike; each pool has its own actors.
  const rules = alertsSchema.parse({}).rules;
  // With 3 metrics: the device-level model (docs/adr/0022) off and on instead of the alert rules.
  const deviceSpec = (settings: Record<string, unknown>) => ({ module: new URL("../../actors/device/index.ts", import.meta.url).href, export: "createDeviceActor", args: [settings] });
  const variants: [string, Record<string, unknown>][] =
    metrics === 1
      ? [
          ["no alert rules", { alertRules: [] }],
          [`default alert rules (${rules.map((r) => r.id).join(", ")})`, { alertRules: rules }],
        ]
      : [
          ["3 metrics per reading, device-level model off", { jointModel: false }],
          ["3 metrics per reading, device-level model on (the default)", {}],
        ];
  const pools = await Promise.all(
    variants.map(async ([name, settings]) => ({ name, host: await WorkerPoolHost.create({ ...common, snapshots: new MemorySnapshotStore(), logics: [deviceSpec(settings)], decoder, workers }), runs: [] as { rate: number; cores: number }[] })),
  );
  for (const p of pools) await drive(p.host, 2 * workers, parts[0]!);
  // Alternating which variant goes first: with the same order every part, the second measured
  // ~10 % slower or faster on some days whatever it was (the same variants swapped gave the cost
  // of the device-level model as +0.19 and −0.62 µs per reading).
  for (const [i, part] of parts.slice(1).entries()) for (const p of i % 2 === 0 ? pools : [...pools].reverse()) p.runs.push(await drive(p.host, 2 * workers, part));
  const rates: number[] = [];
  for (const p of pools) {
    const rate = median(p.runs.map((r) => r.rate));
    rates.push(rate);
    const view = await p.host.introspect();
    row(
      `WorkerPoolHost, ${workers} workers, device actor, journal bytes (the runtime role's path)${perMessage === 1 ? "" : `, ${perMessage} readings per journal message`}, ${p.name}`,
      `${fmt(rate)} readings/s`,
      `(median of ${REPEAT} runs of ~${fmt(total / REPEAT)} readings after ${WARMUP} per device to warm up, interleaved with the other variant, each going first in turn: ${p.runs.map((r) => fmt(r.rate)).join(", ")}; decoded, applied and rows encoded as RowBinary in the workers; ${median(p.runs.map((r) => r.cores)).toFixed(2)} cores busy; turn p99 ${Math.max(...view.workers.map((w) => w.turnLatencyUs.p99)).toFixed(2)} µs)`,
    );
    await p.host.close();
  }
  // Cost of the rules per reading, in core-time: cores busy / rate, on minus off.
  const coreUs = pools.map((p) => (median(p.runs.map((r) => r.cores)) / median(p.runs.map((r) => r.rate))) * 1e6);
  const costOf = perMessage === 1 ? "(worker pool, journal bytes)" : `(worker pool, journal bytes, ${perMessage} per message)`;
  row(metrics === 1 ? `alert rules' cost per reading ${costOf}` : `device-level model's cost per 3-metric reading ${costOf}`, `${(coreUs[1]! - coreUs[0]!).toFixed(3)} µs of CPU`, `(CPU µs per reading: ${coreUs[0]!.toFixed(3)} without, ${coreUs[1]!.toFixed(3)} with; rate ratio ${(rates[1]! / rates[0]!).toFixed(3)})`);
}
