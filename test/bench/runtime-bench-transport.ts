// Transport rows of `npm run bench:runtime`: plain worker_threads vs piscina for moving reading
// batches across threads (ADR 0006).
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { Piscina } from "piscina";
import { BATCH, N_DEVICES, fmt, row } from "./runtime-bench-common.js";

export async function benchTransport(): Promise<void> {
  const workers = availableParallelism();
  const n = 2_000_000;
  const mk = (i: number) => {
    const ids = new Array<string>(BATCH);
    const values = new Float64Array(BATCH);
    for (let k = 0; k < BATCH; k++) {
      ids[k] = `dev-${(i * BATCH + k) % N_DEVICES}`;
      values[k] = k;
    }
    return { ids, values };
  };
  const batches = Array.from({ length: n / BATCH }, (_, i) => mk(i));
  // Plain worker_threads, pinned round-robin, requestId protocol, 4 batches in flight per worker.
  const ws = Array.from({ length: workers }, () => new Worker(fileURLToPath(new URL("./runtime-bench-worker.mjs", import.meta.url))));
  const pending = new Map<number, () => void>();
  for (const w of ws) w.on("message", (m: { requestId: number }) => pending.get(m.requestId)!());
  let rid = 0;
  const send = (w: Worker, batch: unknown) =>
    new Promise<void>((r) => {
      const id = ++rid;
      pending.set(id, () => (pending.delete(id), r()));
      w.postMessage({ requestId: id, batch });
    });
  const runWt = async () => {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: workers * 4 }, async (_, lane) => {
        while (next < batches.length) {
          const i = next++;
          await send(ws[lane % workers]!, batches[i]);
        }
      }),
    );
    return n / ((performance.now() - t0) / 1000);
  };
  await runWt();
  const wt = await runWt();
  await Promise.all(ws.map((w) => w.terminate()));
  row(`transport: worker_threads, ${workers} pinned workers`, `${fmt(wt)} readings/s`, `(batches of ${BATCH}, rows returned)`);
  for (const atomics of ["sync", "disabled"] as const) {
    const pool = new Piscina({ filename: new URL("./runtime-bench-task.mjs", import.meta.url).href, minThreads: workers, maxThreads: workers, atomics, concurrentTasksPerWorker: 1 });
    const runP = async () => {
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: workers * 4 }, async () => {
          while (next < batches.length) await pool.run(batches[next++]);
        }),
      );
      return n / ((performance.now() - t0) / 1000);
    };
    await runP();
    const pr = await runP();
    await pool.destroy();
    row(`transport: piscina atomics=${atomics}, ${workers} threads`, `${fmt(pr)} readings/s`, "(same task; no partition affinity)");
  }
}
