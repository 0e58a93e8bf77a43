/**
 * The VectorStore contract (src/ports/vector-store.ts), one suite run against every adapter: the
 * embedded LanceDB store, Weaviate through the local test double, and a real Weaviate when
 * WEAVIATE_URL is set. Each case gets an empty backend from `fresh()`; `reopen()` opens a second
 * store on the same data (after the first was closed) to show what was stored survives.
 */
import { describe, expect, it } from "vitest";
import type { VectorCollection, VectorHit, VectorKind, VectorObject, VectorStore } from "../../src/ports/vector-store.js";
import { vectorId } from "../../src/domain/vector-ids.js";

export interface ContractBackend {
  fresh(): Promise<{ readonly store: VectorStore; reopen(): Promise<VectorStore> }>;
}

const W: VectorCollection = "anomaly_windows";
const T: VectorCollection = "texts";
const DIMS = 4;
const T0 = 1_764_000_000_000;

/** Device ids that would break naive SQL or GraphQL quoting. */
export const HOSTILE_IDS = ["o'neil", 'dq"x', "back\\slash", "x' OR '1'='1", "ü-日本", "a\\'; --"];

export function obj(n: number, vector: number[], over: Partial<VectorObject> = {}): VectorObject {
  const kind: VectorKind = over.kind ?? "anomaly_window";
  return {
    id: vectorId("contract", kind, n),
    vector,
    kind,
    deviceId: "pump-1",
    tsMs: T0 + n * 1000,
    metric: kind === "anomaly_window" ? "temperature" : "",
    epoch: 1,
    seq: n,
    score: 0.5,
    text: kind === "anomaly_window" ? "" : `text ${n}`,
    ...over,
  };
}

const ids = (hits: readonly { id: string }[]) => hits.map((h) => h.id);
const seqs = (hits: readonly VectorHit[]) => hits.map((h) => h.seq);

async function withStore(backend: ContractBackend, fn: (s: VectorStore, reopen: () => Promise<VectorStore>) => Promise<void>): Promise<void> {
  const { store, reopen } = await backend.fresh();
  await store.ensureCollection({ name: W, dimensions: DIMS });
  await store.ensureCollection({ name: T, dimensions: DIMS });
  try {
    await fn(store, reopen);
  } finally {
    await store.close();
  }
}

export function vectorStoreContract(label: string, backend: ContractBackend): void {
  describe(`VectorStore contract: ${label}`, () => {
    it("ensureCollection is idempotent, also from a second store, and refuses other dimensions", async () => {
      await withStore(backend, async (s, reopen) => {
        await s.ensureCollection({ name: W, dimensions: DIMS });
        await s.upsert(W, [obj(1, [1, 0, 0, 0])]);
        await s.ensureCollection({ name: W, dimensions: DIMS });
        expect(await s.count(W)).toBe(1);
        await s.close();
        const again = await reopen();
        await again.ensureCollection({ name: W, dimensions: DIMS });
        expect(await again.count(W)).toBe(1);
        await expect(again.ensureCollection({ name: W, dimensions: DIMS + 1 })).rejects.toMatchObject({ code: "invalid_input", retryable: false });
        await again.close();
      });
    });

    it("upsert is idempotent by id: written twice it is stored once, the later write wins", async () => {
      await withStore(backend, async (s) => {
        await s.upsert(W, [obj(1, [1, 0, 0, 0], { score: 0.5 }), obj(2, [0, 1, 0, 0])]);
        await s.upsert(W, [obj(1, [0, 0, 1, 0], { score: 0.9, metric: "pressure" })]);
        // Duplicates inside one call: the last one wins too.
        await s.upsert(W, [obj(3, [0, 0, 0, 1], { score: 0.1 }), obj(3, [0, 0, 0, 1], { score: 0.3 })]);
        expect(await s.count(W)).toBe(3);
        const [one] = await s.get(W, [obj(1, []).id]);
        expect(one).toMatchObject({ score: 0.9, metric: "pressure" });
        expect(Array.from(one!.vector)).toEqual([0, 0, 1, 0]);
        expect((await s.get(W, [obj(3, []).id]))[0]!.score).toBe(0.3);
        const hits = await s.search(W, [0, 0, 1, 0], 1);
        expect(hits[0]).toMatchObject({ id: obj(1, []).id, score: 0.9 });
        expect(hits[0]!.distance).toBeCloseTo(0, 5);
      });
    });

    it("search returns the k nearest, nearest first, with cosine distances", async () => {
      await withStore(backend, async (s) => {
        await s.upsert(W, [obj(1, [1, 0, 0, 0]), obj(2, [0, 1, 0, 0]), obj(3, [1, 1, 0, 0]), obj(4, [-1, 0, 0, 0]), obj(5, [2, 0.2, 0, 0])]);
        const hits = await s.search(W, [1, 0, 0, 0], 4);
        expect(seqs(hits)).toEqual([1, 5, 3, 2]);
        const want = [0, 1 - 2 / Math.hypot(2, 0.2), 1 - Math.SQRT1_2, 1];
        hits.forEach((h, i) => expect(h.distance).toBeCloseTo(want[i]!, 5));
        expect(hits[0]).toMatchObject({ kind: "anomaly_window", deviceId: "pump-1", metric: "temperature", tsMs: T0 + 1000, epoch: 1, seq: 1, score: 0.5, text: "" });
        expect(hits[0]).not.toHaveProperty("vector");
        // Opposite direction is distance 2; k beyond the rows returns them all.
        const all = await s.search(W, [1, 0, 0, 0], 50);
        expect(all).toHaveLength(5);
        expect(all[4]!.distance).toBeCloseTo(2, 5);
      });
    });

    it("filters: deviceId, excludeDeviceId, kinds, fromMs inclusive and toMs exclusive, together", async () => {
      await withStore(backend, async (s) => {
        const devices = ["pump-1", "pump-2", ...HOSTILE_IDS];
        await s.upsert(W, devices.map((d, i) => obj(i, [1, i / 10, 0, 0], { deviceId: d })));
        for (const d of devices) {
          expect((await s.search(W, [1, 0, 0, 0], 20, { deviceId: d })).map((h) => h.deviceId)).toEqual([d]);
          const others = await s.search(W, [1, 0, 0, 0], 20, { excludeDeviceId: d });
          expect(others).toHaveLength(devices.length - 1);
          expect(others.map((h) => h.deviceId)).not.toContain(d);
        }
        const range = await s.search(W, [1, 0, 0, 0], 20, { fromMs: T0 + 2000, toMs: T0 + 5000 });
        expect(seqs(range).sort()).toEqual([2, 3, 4]);
        expect(seqs(await s.search(W, [1, 0, 0, 0], 20, { fromMs: T0 + 2000, toMs: T0 + 5000, excludeDeviceId: HOSTILE_IDS[1] }))).toEqual([2, 4]);
        expect(await s.search(W, [1, 0, 0, 0], 20, { deviceId: "nobody" })).toEqual([]);
        expect(await s.search(W, [1, 0, 0, 0], 20, { kinds: [] })).toEqual([]);

        await s.upsert(T, [obj(1, [1, 0, 0, 0], { kind: "explanation" }), obj(2, [1, 0.1, 0, 0], { kind: "report", deviceId: "" }), obj(3, [1, 0.2, 0, 0], { kind: "log" })]);
        expect((await s.search(T, [1, 0, 0, 0], 10, { kinds: ["report"] })).map((h) => h.kind)).toEqual(["report"]);
        expect((await s.search(T, [1, 0, 0, 0], 10, { kinds: ["explanation", "log"] })).map((h) => h.kind)).toEqual(["explanation", "log"]);
        expect((await s.search(T, [1, 0, 0, 0], 10, { kinds: ["anomaly_window"] })).length).toBe(0);
      });
    });

    it("get returns the stored objects with their vectors; missing ids are left out", async () => {
      await withStore(backend, async (s) => {
        const a = obj(1, [0.25, -0.5, 1e-3, 7], { deviceId: HOSTILE_IDS[0], tsMs: 2 ** 52, seq: 2 ** 40, epoch: 77 });
        await s.upsert(W, [a, obj(2, [0, 1, 0, 0])]);
        const got = await s.get(W, [a.id, vectorId("missing"), a.id, "not-a-uuid"]);
        expect(got).toHaveLength(1);
        const { vector, ...rest } = got[0]!;
        const { vector: want, ...wantRest } = a;
        expect(rest).toEqual(wantRest);
        Array.from(vector).forEach((x, i) => expect(x).toBeCloseTo(want[i]!, 6));
        expect(await s.get(W, [])).toEqual([]);
      });
    });

    it("deleteOlderThan removes tsMs < beforeMs and says how many", async () => {
      await withStore(backend, async (s) => {
        await s.upsert(W, Array.from({ length: 7 }, (_, i) => obj(i, [1, i, 0, 0])));
        const n = await s.deleteOlderThan(W, T0 + 4000);
        expect(n === 4 || n === -1).toBe(true);
        expect(await s.count(W)).toBe(3);
        expect(seqs(await s.search(W, [1, 0, 0, 0], 10)).sort()).toEqual([4, 5, 6]);
        expect(await s.deleteOlderThan(W, T0)).toBe(0);
      });
    });

    it("refuses bad input as not retryable, and a collection nobody ensured", async () => {
      const { store, reopen } = await backend.fresh();
      try {
        const bad = { code: "invalid_input", retryable: false };
        await expect(store.upsert(W, [obj(1, [1, 0, 0, 0])])).rejects.toMatchObject(bad);
        await store.ensureCollection({ name: W, dimensions: DIMS });
        await expect(store.upsert(W, [obj(1, [1, 0, 0])])).rejects.toMatchObject(bad);
        await expect(store.upsert(W, [obj(1, [0, 0, 0, 0])])).rejects.toMatchObject(bad);
        await expect(store.upsert(W, [obj(1, [1, Number.NaN, 0, 0])])).rejects.toMatchObject(bad);
        await expect(store.upsert(W, [{ ...obj(1, [1, 0, 0, 0]), id: "pump-1/1" }])).rejects.toMatchObject(bad);
        await expect(store.upsert(W, [obj(1, [1, 0, 0, 0], { kind: "report" })])).rejects.toMatchObject(bad);
        await expect(store.search(W, [1, 0, 0], 3)).rejects.toMatchObject(bad);
        await expect(store.search(W, [1, 0, 0, 0], 0)).rejects.toMatchObject(bad);
        expect(await store.count(W)).toBe(0);
      } finally {
        await store.close();
      }
      await expect(store.count(W)).rejects.toMatchObject({ code: "closed" });
      await (await reopen()).close();
    });

    it("what upsert stored is there for a store opened afterwards", async () => {
      await withStore(backend, async (s, reopen) => {
        await s.upsert(W, Array.from({ length: 50 }, (_, i) => obj(i, [1, Math.sin(i), Math.cos(i), 0])));
        await s.close();
        const again = await reopen();
        await again.ensureCollection({ name: W, dimensions: DIMS });
        expect(await again.count(W)).toBe(50);
        expect(ids(await again.search(W, [1, Math.sin(7), Math.cos(7), 0], 1))).toEqual([obj(7, []).id]);
        // Stored ids written again by the new store are still stored once.
        await again.upsert(W, [obj(7, [0, 1, 0, 0], { score: 0.7 }), obj(50, [0, 0, 1, 0])]);
        expect(await again.count(W)).toBe(51);
        expect((await again.get(W, [obj(7, []).id]))[0]!.score).toBe(0.7);
        await again.close();
      });
    });
  });
}
