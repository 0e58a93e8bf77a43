// Bytes allocated per reading, for bench:runtime's journal rows: a figure that does not move with
// the machine's speed (the rates here swing by up to 2x between minutes for identical code).
import { Session } from "node:inspector/promises";

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
    const walk = (n: { selfSize: number; children: readonly unknown[] }): void => {
      bytes += n.selfSize;
      for (const c of n.children) walk(c as typeof n);
    };
    walk(profile.head);
    return bytes / Math.max(1, readings);
  } finally {
    session.disconnect();
  }
}
