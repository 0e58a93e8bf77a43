// Shared constants, the result table and the journal driver of `npm run bench:runtime`
// (runtime.bench.ts and its parts).
import type { BatchEffects, JournalBytes, RuntimeHost } from "../../src/ports/actor-host.js";
import type { PackedJournal } from "../../src/runtime/journal-batch.js";
export const P = 64;
export const N_READINGS = Number(process.env.BENCH_READINGS ?? 1_000_000);
export const N_DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000);
/**
 * Readings per device delivered before the journal-bytes rows measure: past the detector's learning
 * (~120) and past the first anomalies of the bench's devices (readings ~135-175), whose new paths
 * (anomaly windows, explanations) deoptimise and re-optimise the actor's hot functions once.
 */
export const WARMUP = Math.max(1, Number(process.env.BENCH_WARMUP ?? 200));
export const N_MEM = Number(process.env.BENCH_MEMORY_ACTORS ?? 1_000_000);
export const SKIP = new Set((process.env.BENCH_SKIP ?? "").split(",").filter(Boolean));
export const BATCH = 1000;
/** Measured runs per throughput row (the median is reported). */
export const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
export const rows: [string, string, string][] = [];
export const row = (what: string, value: string, note = ""): void => {
  rows.push([what, value, note]);
  console.log(`  ${what}: ${value} ${note}`);
};
export const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
export const rss = (): number => process.memoryUsage().rss / 2 ** 20;

/** One partition's journal messages packed in one buffer, and how many readings they hold. */
export interface PackedBatch {
  readonly partition: number;
  readonly packed: PackedJournal;
  readonly length: number;
}

/** A packed batch's messages as a pull consumer gives them: a view and a stream sequence each. */
export const messagesOf = (k: PackedJournal): JournalBytes[] => Array.from({ length: k.seqs.length }, (_, i) => ({ data: k.bytes.subarray(k.offsets[i]!, k.offsets[i + 1]!), streamSeq: k.seqs[i]! }));

/**
 * Delivers `batches` to `host`'s journal path with `inFlight` deliveries outstanding, committing
 * each batch's last message once `each` has seen its effects, as the ingest does; `end` runs
 * inside the timed window after the last delivery. Readings/s, and cores busy on average (all
 * threads of the process: 2.0 on this machine means CPU-bound).
 */
export async function driveJournal(
  host: RuntimeHost,
  batches: readonly PackedBatch[],
  inFlight: number,
  each: (fx: BatchEffects) => void | Promise<void>,
  end?: () => Promise<void>,
): Promise<{ rate: number; cores: number }> {
  const total = batches.reduce((a, b) => a + b.length, 0);
  let next = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < batches.length) {
        const b = batches[next++]!;
        const msgs = messagesOf(b.packed);
        await each(await host.deliverJournal!(b.partition, msgs));
        host.committed(b.partition, msgs[msgs.length - 1]!.streamSeq);
      }
    }),
  );
  await end?.();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rate: total / (ms / 1000), cores: (cpu.user + cpu.system) / 1000 / ms };
}
