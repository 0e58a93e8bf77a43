/**
 * Vector store benchmark (docs/adr/0014-vector-store.md).
 *
 *   npm run bench:vectors -- [--vectors 1000000] [--batch 1000] [--devices 10000] [--queries 1000]
 *                            [--index ivf_pq|none] [--dir DIR] [--keep] [--weaviate URL]
 *
 * Writes `--vectors` 32-dimensional anomaly-window vectors (synthetic shapes through the device
 * actor's window features, test/bench/vector-shapes.ts) in upserts of `--batch`, then times top-10
 * searches: unfiltered, one device, all but one device (the similar-incident query), kind + time
 * range. Prints write throughput (maintenance included), upsert latency, maintenance and a full
 * index build, search p50/p99 with recall@10 against exact brute force computed here, and the size
 * on disk. Embedded LanceDB in a temp dir by default (`--index none` keeps it brute force);
 * `--weaviate URL` runs the same against a real Weaviate instead.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { VectorFilter, VectorHit, VectorObject, VectorStore } from "../../src/ports/vector-store.js";
import { EmbeddedVectorStore } from "../../src/adapters/vectors/index.js";
import { WeaviateVectorStore } from "../../src/adapters/weaviate/index.js";
import { anomalyWindowId } from "../../src/domain/anomaly-window.js";
import { rng, syntheticVector } from "./vector-shapes.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
  return v;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const N = Number(arg("vectors", "1000000"));
const BATCH = Number(arg("batch", "1000"));
const DEVICES = Number(arg("devices", "10000"));
const QUERIES = Number(arg("queries", "1000"));
const INDEX = arg("index", "ivf_pq");
const WEAVIATE = arg("weaviate", "");
const DIMS = 32;
const T0 = 1_764_000_000_000;
if (!["ivf_pq", "none"].includes(INDEX)) throw new Error("--index is ivf_pq or none");

const dir = arg("dir", "") || (WEAVIATE === "" ? mkdtempSync(join(tmpdir(), "shoal-vectors-bench-")) : "");
const embedded = WEAVIATE === "" ? new EmbeddedVectorStore({ dir, ...(INDEX === "none" ? { tuning: { indexAbove: Number.POSITIVE_INFINITY } } : {}) }) : undefined;
const store: VectorStore = embedded ?? new WeaviateVectorStore({ url: WEAVIATE, batchSize: BATCH, classPrefix: "ShoalBench" });
const rows: string[][] = [["measure", "value"]];
const row = (k: string, v: string) => (rows.push([k, v]), console.log(`  ${k}: ${v}`));
const ms = (x: number) => `${x.toFixed(1)} ms`;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

console.log(`vector bench: ${N.toLocaleString()} × ${DIMS}-dim in batches of ${BATCH}, ${DEVICES} devices, store ${store.kind}${embedded ? ` (${dir}, index ${INDEX})` : ` (${WEAVIATE})`}`);
await store.ensureCollection({ name: "anomaly_windows", dimensions: DIMS });

// Every vector kept here for the exact answers (N × 32 float32).
const all = new Float32Array(N * DIMS);
const r = rng(42);
const device = (i: number) => `dev-${String(i % DEVICES).padStart(5, "0")}`;
const object = (i: number, v: Float32Array): VectorObject => ({
  id: anomalyWindowId({ deviceId: device(i), epoch: 1, seq: i, tsMs: 0, metric: "temperature" }),
  vector: v,
  kind: "anomaly_window",
  deviceId: device(i),
  tsMs: T0 + i * 1000,
  metric: "temperature",
  epoch: 1,
  seq: i,
  score: 0.95,
  text: "",
});

// 1. Writes.
const upsertMs: number[] = [];
let genMs = 0;
const tw = performance.now();
for (let start = 0; start < N; start += BATCH) {
  const g = performance.now();
  const batch: VectorObject[] = [];
  for (let i = start; i < Math.min(N, start + BATCH); i++) {
    const v = syntheticVector(r, DIMS);
    all.set(v, i * DIMS);
    batch.push(object(i, v));
  }
  const t = performance.now();
  genMs += t - g;
  await store.upsert("anomaly_windows", batch);
  upsertMs.push(performance.now() - t);
  if ((start / BATCH) % 100 === 99) console.log(`  … ${(start + BATCH).toLocaleString()} written`);
}
const writeS = (performance.now() - tw - genMs) / 1000;
row("write throughput", `${Math.round(N / writeS).toLocaleString()} vectors/s (${writeS.toFixed(1)} s in upserts, maintenance included)`);
row("upsert latency", `p50 ${ms(pct(upsertMs, 0.5))}, p99 ${ms(pct(upsertMs, 0.99))}, max ${ms(Math.max(...upsertMs))}`);
row("count", (await store.count("anomaly_windows")).toLocaleString());

// 2. Maintenance and a full index build (embedded only).
if (embedded) {
  const m = await embedded.maintain("anomaly_windows");
  row("maintenance after the load", `${ms(m.optimizeMs + m.indexMs)} (compaction + index update ${ms(m.optimizeMs)})`);
  if (INDEX !== "none") {
    const b = await embedded.maintain("anomaly_windows", { retrain: true });
    row("index build (IVF_PQ, full retrain)", `${(b.indexMs / 1000).toFixed(1)} s over ${b.rows.toLocaleString()} rows`);
  }
  row("search mode", (await embedded.indexState("anomaly_windows")).ann ? "ANN (IVF_PQ + exact re-rank)" : "brute force (exact)");
}

// 3. Searches.
function exactTop(q: Float32Array, k: number, pass: (i: number) => boolean): number[] {
  const best: [number, number][] = [];
  for (let i = 0; i < N; i++) {
    if (!pass(i)) continue;
    let dot = 0;
    for (let d = 0; d < DIMS; d++) dot += q[d]! * all[i * DIMS + d]!;
    const dist = 1 - dot;
    if (best.length < k || dist < best[best.length - 1]![0]) {
      best.push([dist, i]);
      best.sort((a, b) => a[0] - b[0]);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b[0]);
}

const qr = rng(7);
const queries = Array.from({ length: QUERIES }, () => syntheticVector(qr, DIMS));
interface Case {
  readonly name: string;
  readonly filter: (qi: number) => VectorFilter | undefined;
  readonly pass: (qi: number) => (i: number) => boolean;
}
const cases: Case[] = [
  { name: "top-10", filter: () => undefined, pass: () => () => true },
  { name: "top-10, deviceId =", filter: (q) => ({ deviceId: device(q * 37) }), pass: (q) => (i) => i % DEVICES === (q * 37) % DEVICES },
  { name: "top-10, deviceId ≠", filter: (q) => ({ excludeDeviceId: device(q * 37), kinds: ["anomaly_window"] }), pass: (q) => (i) => i % DEVICES !== (q * 37) % DEVICES },
  { name: "top-10, last 10 % of time", filter: () => ({ kinds: ["anomaly_window"], fromMs: T0 + Math.floor(N * 0.9) * 1000, toMs: T0 + N * 1000 }), pass: () => (i) => i >= Math.floor(N * 0.9) },
];
const RECALL_QUERIES = Math.min(50, QUERIES);
for (const c of cases) {
  const lat: number[] = [];
  const hits: VectorHit[][] = [];
  for (let q = 0; q < QUERIES; q++) {
    const t = performance.now();
    const h = await store.search("anomaly_windows", queries[q]!, 10, c.filter(q));
    lat.push(performance.now() - t);
    if (q < RECALL_QUERIES) hits.push(h);
  }
  let found = 0;
  let expected = 0;
  let distErr = 0;
  for (let q = 0; q < RECALL_QUERIES; q++) {
    const exact = exactTop(queries[q]!, 10, c.pass(q));
    const d10 = exact[exact.length - 1] ?? 0;
    let ok = 0;
    for (const h of hits[q]!) {
      let dot = 0;
      for (let d = 0; d < DIMS; d++) dot += queries[q]![d]! * all[h.seq * DIMS + d]!;
      distErr = Math.max(distErr, Math.abs(1 - dot - h.distance));
      if (1 - dot <= d10 + 1e-5) ok++;
    }
    found += Math.min(ok, exact.length);
    expected += exact.length;
  }
  const recall = expected === 0 ? 1 : found / expected;
  row(`search ${c.name}`, `p50 ${ms(pct(lat, 0.5))}, p99 ${ms(pct(lat, 0.99))}, recall@10 ${recall.toFixed(3)}, max |distance error| ${distErr.toExponential(1)}`);
}

// 4. Disk.
function du(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.size;
  return readdirSync(p).reduce((a, f) => a + du(join(p, f)), 0);
}
if (embedded) await embedded.maintain("anomaly_windows", { keepVersionsMs: 0 }); // old versions out, as a minute later
if (embedded) row("disk size", `${(du(dir) / 2 ** 20).toFixed(0)} MiB (${(du(dir) / N).toFixed(0)} bytes/vector)`);

await store.close();
if (embedded && !flag("keep") && arg("dir", "") === "") rmSync(dir, { recursive: true, force: true });

console.log("\n| measure | value |\n|---|---|");
for (const [k, v] of rows.slice(1)) console.log(`| ${k} | ${v} |`);
