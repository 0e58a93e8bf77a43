// Memory rows of `npm run bench:runtime`: each case runs in a child process (runtime.bench.ts
// --memory-child, with --expose-gc) so its RSS is its own.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { deviceActor } from "../../actors/device/index.js";
import type { Envelope } from "../../src/ports/actor-host.js";
import { createInlineHost } from "../../src/runtime/inline-host.js";
import { fnv1a32 } from "../../src/base/hash.js";
import { MemorySnapshotStore } from "../../src/runtime/testing/memory-snapshot-store.js";
import { N_MEM, P, fmt, row } from "./runtime-bench-common.js";
import { tinyActor } from "./runtime-bench-actors.js";

export async function benchMemoryChild(): Promise<void> {
  // Child: node --expose-gc --import tsx <this> --memory-child
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  const base = process.memoryUsage();
  const n = Number(process.env.BENCH_MEMORY_N ?? N_MEM);
  const logic = process.env.BENCH_MEMORY_LOGIC === "tiny" ? tinyActor : deviceActor;
  const host = createInlineHost({ logics: [logic as never], snapshots: new MemorySnapshotStore(), partitions: P, maxActiveActors: n + 1, snapshotEveryMessages: 1_000_000_000, snapshotEveryMs: 3_600_000 });
  const metricsPer = Number(process.env.BENCH_METRICS ?? 1);
  const readings = Number(process.env.BENCH_MEMORY_READINGS ?? 1);
  const names = Array.from({ length: metricsPer }, (_, m) => (m === 0 ? "temp" : `m${m}`));
  const ids = Array.from({ length: n }, (_, i) => `dev-${i}`);
  const parts = ids.map((id) => fnv1a32(id) % P);
  const chunk = 10_000;
  let journalSeq = 0;
  // Round r gives every actor its r-th reading (1 s apart: the seasonal term stays off, as for most
  // devices sampling faster than every ~68 s), values varying so the detector does real work.
  for (let r = 1; r <= readings; r++) {
    for (let start = 0; start < n; start += chunk) {
      const batch: Envelope[] = [];
      for (let i = start; i < Math.min(n, start + chunk); i++) {
        const metrics: Record<string, number> = {};
        for (let m = 0; m < metricsPer; m++) metrics[names[m]!] = (i % 100) + 10 * Math.sin(r / (5 + m)) + ((r * 7919 + i) % 13) / 10;
        const ss = ++journalSeq;
        batch.push({ actorType: "device", actorId: ids[i]!, partition: parts[i]!, streamSeq: ss, msg: { type: "reading", reading: { deviceId: ids[i]!, seq: r, tsMs: 1_700_000_000_000 + r * 1000, metrics }, streamSeq: ss } as never });
      }
      await host.deliver(batch);
    }
  }
  gc();
  // Let V8 return freed pages (memory reducer) before reading RSS: it is measured settled.
  await new Promise((r) => setTimeout(r, 5_000));
  gc();
  if (process.env.BENCH_MEMORY_DEBUG) {
    const { readFileSync } = await import("node:fs");
    console.error(readFileSync("/proc/self/status", "utf8").split("\n").filter((l) => /Rss|VmData/.test(l)).join(" | "));
    const maps = readFileSync("/proc/self/smaps", "utf8").split("\n");
    const big: string[] = [];
    let head = "";
    for (const l of maps) {
      if (/^[0-9a-f]+-/.test(l)) head = l;
      else if (l.startsWith("Rss:") && Number(l.split(/\s+/)[1]) > 20_000) big.push(`${l.trim()}  ${head}`);
    }
    console.error(big.join("\n"));
  }
  const after = process.memoryUsage();
  const view = await host.introspect();
  const heap = after.heapUsed - base.heapUsed;
  const ext = after.arrayBuffers - base.arrayBuffers;
  console.log(JSON.stringify({ active: view.workers[0]!.activeByType.device, readings, metrics: metricsPer, rssMb: after.rss / 2 ** 20, rssPerActorB: (after.rss - base.rss) / n, heapTotalMb: after.heapTotal / 2 ** 20, heapMb: heap / 2 ** 20, extMb: ext / 2 ** 20, perActorB: (heap + ext) / n }));
  process.exit(0);
}

/** Result line of a memory child. */
interface MemoryResult {
  active: number;
  readings: number;
  metrics: number;
  rssMb: number;
  rssPerActorB: number;
  heapMb: number;
  extMb: number;
  perActorB: number;
}

function memoryChild(env: Record<string, string>): Promise<MemoryResult> {
  return new Promise<MemoryResult>((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", "--max-old-space-size=12288", "--import", "tsx", fileURLToPath(new URL("./runtime.bench.ts", import.meta.url)), "--memory-child"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
    let s = "";
    child.stdout.on("data", (d: Buffer) => (s += d.toString()));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(s.trim().split("\n").at(-1)!) as MemoryResult) : reject(new Error(`memory child exited ${code}`))));
  });
}

export async function benchMemory(): Promise<void> {
  // The runtime's own cost (tiny state), then device actors (ADR 0008): BENCH_MEMORY_DEVICE_ACTORS
  // (default BENCH_MEMORY_ACTORS) with 1 and 3 metrics after BENCH_MEMORY_READINGS readings each
  // (default 64: the 64-sample rolling window is full, the detector's rings are still filling), and
  // a steady state (every ring full: 1,400 readings) on BENCH_MEMORY_STEADY_ACTORS (default 20,000)
  // extrapolated to 1M. Which of them to run: BENCH_MEMORY_CASES (comma list of tiny,d1,d3,steady).
  const deviceN = Number(process.env.BENCH_MEMORY_DEVICE_ACTORS ?? N_MEM);
  const readings = Number(process.env.BENCH_MEMORY_READINGS ?? 64);
  const steadyN = Number(process.env.BENCH_MEMORY_STEADY_ACTORS ?? 20_000);
  const cases = new Set((process.env.BENCH_MEMORY_CASES ?? "tiny,d1,d3,steady").split(","));
  const all: [string, string, Record<string, string>][] = [
    ["tiny", `trivial actor (runtime overhead), ${readings} readings each`, { BENCH_MEMORY_LOGIC: "tiny", BENCH_MEMORY_N: String(N_MEM), BENCH_METRICS: "1", BENCH_MEMORY_READINGS: String(readings) }],
    ["d1", `device actor, 1 metric x 64-sample window, ${readings} readings each`, { BENCH_MEMORY_LOGIC: "device", BENCH_MEMORY_N: String(deviceN), BENCH_METRICS: "1", BENCH_MEMORY_READINGS: String(readings) }],
    ["d3", `device actor, 3 metrics x 64-sample window, ${readings} readings each`, { BENCH_MEMORY_LOGIC: "device", BENCH_MEMORY_N: String(deviceN), BENCH_METRICS: "3", BENCH_MEMORY_READINGS: String(readings) }],
    ["steady", "device actor, 1 metric, steady state (detector rings full), 1,400 readings each", { BENCH_MEMORY_LOGIC: "device", BENCH_MEMORY_N: String(steadyN), BENCH_METRICS: "1", BENCH_MEMORY_READINGS: "1400" }],
  ];
  for (const [key, name, env] of all) {
    if (!cases.has(key)) continue;
    const r = await memoryChild(env);
    const per1M = (b: number) => `${fmt((b * 1e6) / 2 ** 20)} MB`;
    row(`memory, ${fmt(r.active)} active actors, ${name}`, `${fmt(r.rssMb)} MB RSS`, `(${fmt(r.rssPerActorB)} B/actor RSS, ${fmt(r.perActorB)} B/actor heap+buffers; x 1M = ${per1M(r.rssPerActorB)} RSS, ${per1M(r.perActorB)} heap+buffers)`);
  }
}
