// Bytes allocated per reading, for bench:runtime's journal rows: a figure that does not move with
// the machine's speed (the rates here swing by up to 2x between minutes for identical code).
import { Session } from "node:inspector/promises";

/** BENCH_ALLOC_SITES=n: also print the n allocation sites with the most bytes per reading. */
const SITES = Number(process.env.BENCH_ALLOC_SITES ?? 0);

/** Readings per device delivered after the measured runs to count the inline host's allocations. */
export const ALLOC_READINGS_PER_DEVICE = 20;

/**
 * Bytes allocated per reading while `run` delivers readings (it returns how many), estimated by
 * V8's sampling heap profiler: one sample every 4 KiB allocated on average, objects collected by
 * either GC included. Only this thread's heap: for the inline host, everything a reading costs.
 */
export async function allocatedPerReading(run: () => Promise<number>): Promise<number> {
  const session = new Session();
  session.connect();
  try {
    await session.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    const readings = await run();
    const { profile } = await session.post("HeapProfiler.stopSampling");
    let bytes = 0;
    const sites = new Map<string, number>();
    type Node = { selfSize: number; children: readonly unknown[]; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } };
    const walk = (n: Node): void => {
      bytes += n.selfSize;
      if (SITES > 0 && n.selfSize > 0) {
        const f = n.callFrame;
        const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}:${f.columnNumber + 1}`;
        sites.set(key, (sites.get(key) ?? 0) + n.selfSize);
      }
      for (const c of n.children) walk(c as Node);
    };
    walk(profile.head as unknown as Node);
    const perReading = Math.max(1, readings);
    for (const [site, b] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, SITES)) console.log(`    ${(b / perReading).toFixed(0).padStart(6)} B/reading  ${site}`);
    return bytes / perReading;
  } finally {
    session.disconnect();
  }
}
