// Shared constants and the result table of `npm run bench:runtime` (runtime.bench.ts and its parts).
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
