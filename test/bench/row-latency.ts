import { chQuery } from "../support/pipeline.js";

/**
 * Publish → row latency of a running pipeline: polls ClickHouse every 100 ms for rows with a
 * higher stream seq and records (now − reading ts) for each (so up to +100 ms of resolution).
 */
export function startRowLatencyPoller(chUrl: string, db: string): { stop(): Promise<void>; percentile(p: number): number } {
  const latencies: number[] = [];
  let polling = true;
  const poller = (async () => {
    let lastStreamSeq = 0;
    while (polling) {
      const t0 = Date.now();
      const got = await chQuery<{ s: string; t: string }>(chUrl, db, `SELECT stream_seq AS s, ts_ms AS t FROM readings WHERE stream_seq > ${lastStreamSeq} ORDER BY stream_seq`).catch(() => []);
      const now = Date.now();
      for (const r of got) {
        latencies.push(now - Number(r.t));
        lastStreamSeq = Math.max(lastStreamSeq, Number(r.s));
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (now - t0))));
    }
  })();
  let sorted = false;
  return {
    async stop() {
      polling = false;
      await poller;
    },
    percentile(p) {
      if (!sorted) latencies.sort((a, b) => a - b);
      sorted = true;
      return latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
    },
  };
}
