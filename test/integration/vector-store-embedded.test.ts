/**
 * The embedded vector store (LanceDB in a temp dir): the VectorStore contract, what an upsert
 * stored surviving SIGKILL of its process, and ANN search above the index threshold agreeing with
 * exact brute force (filters included). docs/adr/0014-vector-store.md.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { EmbeddedVectorStore } from "../../src/adapters/vectors/index.js";
import { obj, vectorStoreContract } from "../support/vector-store-contract.js";
import { rng, syntheticVector } from "../bench/vector-shapes.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "shoal-vectors-test-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

vectorStoreContract("embedded LanceDB store (temp dir)", {
  async fresh() {
    const dir = tempDir();
    return { store: new EmbeddedVectorStore({ dir }), reopen: async () => new EmbeddedVectorStore({ dir }) };
  },
});

describe("embedded vector store: crash durability", () => {
  it("objects whose upsert resolved are there after the process is SIGKILLed right after", async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("../support/vector-upsert-child.ts", import.meta.url)), dir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let confirmed = 0;
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      let buf = "";
      child.stdout.on("data", (chunk: Buffer) => {
        buf += chunk.toString();
        for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
          const m = /^upserted (\d+)$/.exec(buf.slice(0, i));
          buf = buf.slice(i + 1);
          if (m) confirmed = Number(m[1]);
          // Killed mid-stream: the next upsert is already running.
          if (confirmed >= 2000 && !child.killed) {
            child.kill("SIGKILL");
            resolve();
          }
        }
      });
      child.once("exit", () => (confirmed >= 2000 ? resolve() : reject(new Error(`child exited after ${confirmed} objects`))));
    });
    expect(await exited).toBe("SIGKILL");

    const store = new EmbeddedVectorStore({ dir });
    await store.ensureCollection({ name: "anomaly_windows", dimensions: 4 });
    const count = await store.count("anomaly_windows");
    // Everything confirmed is there; at most the batch in flight more (whole, or not at all).
    expect(count).toBeGreaterThanOrEqual(confirmed);
    expect(count - confirmed).toBeLessThanOrEqual(100);
    expect(count % 100).toBe(0);
    const ids = Array.from({ length: confirmed }, (_, n) => obj(n, []).id);
    expect((await store.get("anomaly_windows", ids)).length).toBe(confirmed);
    // The table still takes writes and answers searches.
    await store.upsert("anomaly_windows", [obj(1, [0, 0, 0, 1], { score: 0.99 })]);
    expect((await store.search("anomaly_windows", [0, 0, 0, 1], 1))[0]!.score).toBe(0.99);
    expect(await store.count("anomaly_windows")).toBe(count);
    await store.close();
  }, 120_000);
});

describe("embedded vector store: one process per directory", () => {
  it("a second store on a directory in use is refused (retryable) until the first closes", async () => {
    const dir = tempDir();
    const first = new EmbeddedVectorStore({ dir });
    await first.open();
    const second = new EmbeddedVectorStore({ dir });
    await expect(second.open()).rejects.toMatchObject({ name: "VectorStoreError", retryable: true, message: expect.stringMatching(/in use by .* pid \d+/) });
    await first.close();
    await second.open();
    await second.close();
  });
});

describe("embedded vector store: ANN index above the threshold", () => {
  it("builds the index and answers like exact search, with every filter", async () => {
    const dir = tempDir();
    const tuning = { indexAbove: 2000, optimizeEveryRows: 1000, maintenanceShare: 1 };
    const store = new EmbeddedVectorStore({ dir, tuning });
    await store.ensureCollection({ name: "anomaly_windows", dimensions: 32 });
    const r = rng(3);
    const all = Array.from({ length: 4000 }, (_, n) => obj(n, Array.from(syntheticVector(r)), { deviceId: `dev-${n % 40}` }));
    for (let i = 0; i < all.length; i += 500) await store.upsert("anomaly_windows", all.slice(i, i + 500));
    await store.maintain("anomaly_windows");
    expect(await store.indexState("anomaly_windows")).toMatchObject({ ann: true });

    const exact = (q: number[], pass: (o: (typeof all)[number]) => boolean) =>
      all
        .filter(pass)
        .map((o) => ({ seq: o.seq, d: 1 - q.reduce((a, x, i) => a + x * o.vector[i]!, 0) }))
        .sort((a, b) => a.d - b.d)
        .slice(0, 10);
    const filters = [
      { f: undefined, pass: () => true },
      { f: { deviceId: "dev-7" }, pass: (o: (typeof all)[number]) => o.deviceId === "dev-7" },
      { f: { excludeDeviceId: "dev-7", kinds: ["anomaly_window" as const] }, pass: (o: (typeof all)[number]) => o.deviceId !== "dev-7" },
      { f: { fromMs: all[3990]!.tsMs, toMs: all[3996]!.tsMs }, pass: (o: (typeof all)[number]) => o.seq >= 3990 && o.seq < 3996 },
    ];
    const qr = rng(11);
    let found = 0;
    let wanted = 0;
    for (let q = 0; q < 20; q++) {
      const v = Array.from(syntheticVector(qr));
      for (const { f, pass } of filters) {
        const want = exact(v, pass);
        const got = await store.search("anomaly_windows", v, 10, f);
        expect(got.length).toBe(want.length);
        for (const h of got) {
          expect(pass(all[h.seq]!)).toBe(true);
          // Distances are exact (re-ranked with the stored vectors).
          expect(h.distance).toBeCloseTo(1 - v.reduce((a, x, i) => a + x * all[h.seq]!.vector[i]!, 0), 5);
        }
        const d10 = want[want.length - 1]!.d;
        found += got.filter((h) => h.distance <= d10 + 1e-5).length;
        wanted += want.length;
      }
    }
    expect(found / wanted).toBeGreaterThan(0.95);
    await store.close();

    const again = new EmbeddedVectorStore({ dir, tuning });
    await again.ensureCollection({ name: "anomaly_windows", dimensions: 32 });
    expect(await again.indexState("anomaly_windows")).toMatchObject({ ann: true });
    await again.close();
  }, 120_000);
});
