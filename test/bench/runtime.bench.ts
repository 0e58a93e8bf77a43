// npm run bench:runtime — actor runtime benchmarks (prints a table; no assertions).
// Rows: in-process throughput (inline host, trivial + device actor), worker-pool throughput,
// the runtime role's path (undecoded journal bytes → deliverJournal, inline and worker pool, and the
// bytes the inline host allocates per reading on it), the bridge's decode and encode per reading,
// worker_threads vs piscina transport (ADR 0006), JetStream in front, memory for 1M device actors
// (child process with --expose-gc), activation latency from a KV snapshot, turn latency p99.
// Env: BENCH_READINGS (default 1,000,000, measured), BENCH_WARMUP (readings per device before the
// journal-bytes rows measure, default 200: past the detector's learning and its first anomalies), BENCH_PER_MESSAGE (readings per
// journal message in the bridge-format rows, default 16), BENCH_DEVICES (10,000), BENCH_MEMORY_ACTORS (1,000,000),
// BENCH_MEMORY_DEVICE_ACTORS, BENCH_MEMORY_READINGS, BENCH_MEMORY_STEADY_ACTORS, BENCH_MEMORY_CASES (see benchMemory),
// BENCH_SKIP (comma list of: inline,pool,journal,journal3,journalB,journal3B,bridge,tracing,transport,jetstream,memory,activation), BENCH_REPEAT (runs per
// throughput row, default 3; the median is reported), BENCH_ALLOC_SITES (n: also print the n allocation
// sites with the most bytes per reading under the bytes-allocated rows).
import { availableParallelism } from "node:os";
import { isMainThread } from "node:worker_threads";
import { deviceActor } from "../../actors/device/index.js";
import type { BatchEffects, Envelope, RuntimeHost } from "../../src/ports/actor-host.js";
import { createInlineHost } from "../../src/runtime/inline-host.js";
import { fnv1a32 } from "../../src/base/hash.js";
import { MemorySnapshotStore } from "../../src/runtime/testing/memory-snapshot-store.js";
import { WorkerPoolHost } from "../../src/runtime/worker-pool-host.js";
import { tinyActor } from "./runtime-bench-actors.js";

import { BATCH, N_DEVICES, N_READINGS, P, REPEAT, SKIP, fmt, median, row, rows, rss } from "./runtime-bench-common.js";
import { benchMemory, benchMemoryChild } from "./runtime-bench-memory.js";
import { benchTransport } from "./runtime-bench-transport.js";
import { benchJetStream } from "./runtime-bench-jetstream.js";
import { benchTracing } from "./runtime-bench-tracing.js";
import { benchJournalBytes, PER_MESSAGE } from "./runtime-bench-journal.js";
import { benchBridge } from "./runtime-bench-bridge.js";

/** Journal stream sequence, monotonic across every generated batch (as a real stream's). */
let streamSeq = 0;

type Mut<T> = { -readonly [K in keyof T]: T[K] };
type BenchMsg = { type: "reading"; reading: { deviceId: string; seq: number; tsMs: number; metrics: Record<string, number> }; streamSeq: number };

/**
 * A ring of batches (BATCH envelopes of one partition each, `perDevice` readings per device),
 * recycled round after round with the next device seqs and stream seqs: the input costs no
 * allocation, so the numbers are the runtime's, not the generator's or its garbage collector's
 * (in production the ingest's decoder allocates the envelopes).
 */
function makeFeed(devices: number, perDevice = 10) {
  const ids = Array.from({ length: devices }, (_, i) => `dev-${i}`);
  const byPart: Envelope[][] = Array.from({ length: P }, () => []);
  const ring: Envelope[][] = [];
  for (let k = 0; k < devices * perDevice; k++) {
    const d = k % devices;
    const id = ids[d]!;
    const p = fnv1a32(id) % P;
    const seq = Math.floor(k / devices) + 1;
    const arr = byPart[p]!;
    const msg: BenchMsg = { type: "reading", reading: { deviceId: id, seq, tsMs: 1_700_000_000_000 + seq * 1000, metrics: { temp: 20 + Math.sin(seq + d) } }, streamSeq: 0 };
    arr.push({ actorType: "device", actorId: id, partition: p, streamSeq: 0, msg });
    if (arr.length === BATCH) ring.push(arr.splice(0));
  }
  for (const arr of byPart) if (arr.length > 0) ring.push(arr);
  let round = 0;
  /** The ring's batches for the next round (fresh seqs). */
  return function nextRound(): Envelope[][] {
    for (const batch of ring) {
      for (const e of batch) {
        const m = e.msg as BenchMsg;
        if (round > 0) m.reading.seq += perDevice;
        (e as Mut<Envelope>).streamSeq = m.streamSeq = ++streamSeq;
      }
    }
    round++;
    return ring;
  };
}

/** A host that also takes pre-decoded envelopes (both hosts do, for benchmarks of actor logic). */
type EnvelopeHost = RuntimeHost & { deliver(batch: readonly Envelope[]): Promise<BatchEffects> };

/** Run `readings` readings (whole rounds of the feed) through `host`. */
async function run(host: EnvelopeHost, feed: () => Envelope[][], readings: number, inFlight: number): Promise<number> {
  let done = 0;
  let t = 0;
  while (done < readings) {
    const batches = feed();
    const t0 = performance.now();
    await pump(host, batches, inFlight);
    t += performance.now() - t0;
    done += batches.reduce((a, b) => a + b.length, 0);
  }
  return done / (t / 1000);
}

/** Push batches through a host with `inFlight` deliveries outstanding; commit as the ingest would. */
async function pump(host: EnvelopeHost, batches: readonly Envelope[][], inFlight: number): Promise<number> {
  let next = 0;
  let rowsOut = 0;
  const lane = async () => {
    while (next < batches.length) {
      const b = batches[next++]!;
      const fx = await host.deliver(b);
      rowsOut += fx.rows.get("readings")?.length ?? 0;
      host.committed(b[0]!.partition, b[b.length - 1]!.streamSeq);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const total = batches.reduce((a, b) => a + b.length, 0);
  if (rowsOut !== total) throw new Error(`rows ${rowsOut} != readings ${total}`);
  return total;
}

async function benchInline(): Promise<void> {
  for (const [name, logic] of [
    ["trivial device actor", tinyActor],
    ["device actor (actors/device)", deviceActor],
  ] as const) {
    const feed = makeFeed(N_DEVICES);
    const host = createInlineHost({ logics: [logic as never], snapshots: new MemorySnapshotStore(), partitions: P, snapshotEveryMessages: 10_000 });
    await run(host, feed, 200_000, 1);
    // This machine's speed swings 2x from minute to minute: run the measured part REPEAT times
    // (fresh seqs each time, same actors) and report the median with the range.
    const rates: number[] = [];
    for (let i = 0; i < REPEAT; i++) rates.push(await run(host, feed, N_READINGS, 1));
    const st = (await host.introspect()).workers[0]!;
    row(`inline host, 1 thread, ${name}`, `${fmt(median(rates))} readings/s`, `(median of ${REPEAT} runs of ${fmt(N_READINGS)} readings: ${rates.map(fmt).join(", ")}; ${fmt(N_DEVICES)} devices, batches of ${BATCH}; turn p50 ${st.turnLatencyUs.p50.toFixed(2)} µs, p99 ${st.turnLatencyUs.p99.toFixed(2)} µs)`);
    await host.close();
  }
}

async function benchPool(): Promise<void> {
  const workers = availableParallelism();
  for (const [name, spec] of [
    ["trivial device actor", { module: new URL("./runtime-bench-actors.ts", import.meta.url).href, export: "tinyActor" }],
    ["device actor (actors/device)", { module: new URL("../../actors/device/index.ts", import.meta.url).href, export: "deviceActor" }],
  ] as const) {
    const host = await WorkerPoolHost.create({ logics: [spec], snapshots: new MemorySnapshotStore(), workers, partitions: P, snapshotEveryMessages: 10_000 });
    const feed = makeFeed(N_DEVICES);
    await run(host, feed, 200_000, 2 * workers);
    const rates: number[] = [];
    for (let i = 0; i < REPEAT; i++) rates.push(await run(host, feed, N_READINGS, 2 * workers));
    const rate = median(rates);
    const view = await host.introspect();
    const p99 = Math.max(...view.workers.map((w) => w.turnLatencyUs.p99));
    row(`WorkerPoolHost, ${workers} workers, ${name}`, `${fmt(rate)} readings/s`, `(pre-decoded envelopes, median of ${REPEAT} runs: ${rates.map(fmt).join(", ")}; they cross to the workers by structured clone, which the runtime role avoids by sending journal bytes (next rows); turn p99 ${p99.toFixed(2)} µs)`);
    await host.close();
  }
}

async function benchActivation(): Promise<void> {
  const { startNats } = await import("../harness/index.js").catch(() => ({ startNats: undefined }));
  const { connect } = await import("@nats-io/transport-node");
  const { KvSnapshotStore } = await import("../../src/adapters/nats/kv-snapshot-store.js");
  if (startNats === undefined) return row("activation from KV", "skipped", "(test/harness not available)");
  const nats = await startNats();
  const nc = await connect({ servers: nats.url });
  try {
    const store = await KvSnapshotStore.create(nc, { bucket: "bench-activation" });
    const n = 5000;
    // Seed snapshots of real device actors (64 samples of one metric).
    const seed = createInlineHost({ logics: [deviceActor], snapshots: store, partitions: P, commitMode: "on-return" });
    const envs: Envelope[] = [];
    for (let s = 1; s <= 64; s++) for (let i = 0; i < n; i++) {
      const id = `act-${i}`;
      envs.push({ actorType: "device", actorId: id, partition: 0, streamSeq: s, msg: { type: "reading", reading: { deviceId: id, seq: s, tsMs: s, metrics: { temp: s } }, streamSeq: s } as never });
    }
    for (let i = 0; i < envs.length; i += 10_000) await seed.deliver(envs.slice(i, i + 10_000));
    await seed.close();
    const host = createInlineHost({ logics: [deviceActor], snapshots: store, partitions: P });
    const lat: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const id = `act-${i}`;
      const t0 = performance.now();
      await host.deliver([{ actorType: "device", actorId: id, partition: 0, streamSeq: 100, msg: { type: "reading", reading: { deviceId: id, seq: 65, tsMs: 65, metrics: { temp: 1 } }, streamSeq: 100 } as never }]);
      lat.push(performance.now() - t0);
    }
    lat.sort((a, b) => a - b);
    const t0 = performance.now();
    const batch: Envelope[] = [];
    for (let i = 1000; i < n; i++) batch.push({ actorType: "device", actorId: `act-${i}`, partition: 0, streamSeq: 100, msg: { type: "reading", reading: { deviceId: `act-${i}`, seq: 65, tsMs: 65, metrics: { temp: 1 } }, streamSeq: 100 } as never });
    await host.deliver(batch);
    const bulk = (n - 1000) / ((performance.now() - t0) / 1000);
    row("activation latency from a NATS KV snapshot (one actor per deliver)", `p50 ${lat[500]!.toFixed(2)} ms, p99 ${lat[990]!.toFixed(2)} ms`, "(device actor, 64-sample window, real nats-server)");
    row("bulk activation from NATS KV (4,000 actors in one batch)", `${fmt(bulk)} activations/s`, "(getMany pipelined, 256 in flight)");
    await host.close();
  } finally {
    await nc.close();
    await nats.cleanup();
  }
}

async function main(): Promise<void> {
  if (process.argv.includes("--memory-child")) return benchMemoryChild();
  console.log(`runtime bench: node ${process.version}, ${availableParallelism()} cores, RSS at start ${rss().toFixed(0)} MB`);
  const steps: [string, () => Promise<void>][] = [
    ["inline", benchInline],
    ["pool", benchPool],
    ["journal", () => benchJournalBytes(1)],
    ["journal3", () => benchJournalBytes(3)],
    ["journalB", () => benchJournalBytes(1, PER_MESSAGE)],
    ["journal3B", () => benchJournalBytes(3, PER_MESSAGE)],
    ["bridge", async () => benchBridge()],
    ["tracing", benchTracing],
    ["transport", benchTransport],
    ["jetstream", benchJetStream],
    ["activation", benchActivation],
    ["memory", benchMemory],
  ];
  for (const [name, fn] of steps) {
    if (SKIP.has(name)) continue;
    try {
      await fn();
    } catch (err) {
      row(name, "FAILED", String((err as Error)?.stack ?? err));
    }
  }
  console.log("\n| benchmark | result | notes |\n|---|---|---|");
  for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
  process.exit(0);
}

if (isMainThread) await main();
