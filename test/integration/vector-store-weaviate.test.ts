/**
 * The Weaviate adapter against the local Weaviate TEST DOUBLE (test/harness/weaviate-double.ts; not
 * Weaviate, which cannot run here): the VectorStore contract, error mapping, batching, and the
 * double's own check that every request and answer matches Weaviate 1.25.34's OpenAPI document.
 * The same contract runs against a real server in weaviate-live.test.ts when WEAVIATE_URL is set.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVectorStore } from "../../src/adapters/vectors/index.js";
import { WeaviateVectorStore } from "../../src/adapters/weaviate/index.js";
import { startWeaviateDouble } from "../harness/weaviate-double.js";
import type { WeaviateDouble } from "../harness/weaviate-double.js";
import { obj, vectorStoreContract } from "../support/vector-store-contract.js";

let double: WeaviateDouble;
const lines: string[] = [];
let prefixes = 0;

beforeAll(async () => {
  double = await startWeaviateDouble({ log: (l) => lines.push(l) });
});
afterAll(async () => {
  await double.close();
});
afterEach(() => {
  // Every request the adapter sent, and every answer, matched Weaviate's OpenAPI document.
  expect(double.failures).toEqual([]);
});

const store = (over: Partial<ConstructorParameters<typeof WeaviateVectorStore>[0]> = {}) =>
  new WeaviateVectorStore({ url: double.url, batchSize: 3, timeoutMs: 5000, classPrefix: `Shoal${++prefixes}`, ...over });

vectorStoreContract("Weaviate adapter against the local Weaviate TEST DOUBLE (not Weaviate)", {
  async fresh() {
    const classPrefix = `Shoal${++prefixes}`;
    return { store: store({ classPrefix }), reopen: async () => store({ classPrefix }) };
  },
});

describe("Weaviate adapter against the TEST DOUBLE: classes, batches, errors", () => {
  it("creates classes with cosine distance, vectorizer none and field-tokenized filter properties", async () => {
    const s = store({ classPrefix: "ShoalSpec" });
    await s.ensureCollection({ name: "anomaly_windows", dimensions: 4 });
    const schema = (await (await fetch(`${double.url}/v1/schema/ShoalSpecAnomalyWindows`)).json()) as { vectorizer: string; vectorIndexConfig: { distance: string }; properties: { name: string; dataType: string[]; tokenization?: string }[] };
    expect(schema.vectorizer).toBe("none");
    expect(schema.vectorIndexConfig.distance).toBe("cosine");
    expect(schema.properties.find((p) => p.name === "deviceId")).toMatchObject({ dataType: ["text"], tokenization: "field" });
    expect(schema.properties.find((p) => p.name === "tsMs")).toMatchObject({ dataType: ["number"] });
    await s.close();
  });

  it("imports in batches of batchSize under the objects' own ids, so a replay overwrites", async () => {
    const s = store({ classPrefix: "ShoalBatch", batchSize: 4 });
    await s.ensureCollection({ name: "anomaly_windows", dimensions: 4 });
    const before = double.requests.filter((r) => r === "POST /v1/batch/objects").length;
    const objects = Array.from({ length: 10 }, (_, n) => obj(n, [1, n, 0, 0]));
    await s.upsert("anomaly_windows", objects);
    expect(double.requests.filter((r) => r === "POST /v1/batch/objects").length - before).toBe(3);
    await s.upsert("anomaly_windows", objects);
    expect(double.objects("ShoalBatchAnomalyWindows").map((o) => o.id).sort()).toEqual(objects.map((o) => o.id).sort());
    await s.close();
  });

  it("deletes in rounds while a round hits the server's per-request limit", async () => {
    const small = await startWeaviateDouble({ maxDeletePerRequest: 2, log: (l) => lines.push(l) });
    const s = new WeaviateVectorStore({ url: small.url, classPrefix: "ShoalDel" });
    await s.ensureCollection({ name: "anomaly_windows", dimensions: 4 });
    await s.upsert("anomaly_windows", Array.from({ length: 7 }, (_, n) => obj(n, [1, n, 0, 0])));
    expect(await s.deleteOlderThan("anomaly_windows", obj(5, []).tsMs)).toBe(5);
    expect(small.requests.filter((r) => r === "DELETE /v1/batch/objects").length).toBe(3);
    expect(await s.count("anomaly_windows")).toBe(2);
    expect(small.failures).toEqual([]);
    await s.close();
    await small.close();
  });

  it("maps failures: 5xx and a down server are retryable, 4xx are not", async () => {
    const s = store();
    await s.ensureCollection({ name: "texts", dimensions: 4 });
    double.failNext(503);
    await expect(s.count("texts")).rejects.toMatchObject({ name: "VectorStoreError", code: "storage_unavailable", retryable: true, status: 503 });
    double.failNext(500);
    await expect(s.upsert("texts", [obj(1, [1, 0, 0, 0], { kind: "log" })])).rejects.toMatchObject({ retryable: true, status: 500 });
    double.failNext(422);
    await expect(s.upsert("texts", [obj(1, [1, 0, 0, 0], { kind: "log" })])).rejects.toMatchObject({ code: "invalid_input", retryable: false, status: 422 });
    await s.close();

    const down = new WeaviateVectorStore({ url: "http://127.0.0.1:1", timeoutMs: 2000 });
    await expect(down.ensureCollection({ name: "texts", dimensions: 4 })).rejects.toMatchObject({ code: "storage_unavailable", retryable: true });
  });

  it("sends the API key, and a wrong key is refused as not retryable", async () => {
    const guarded = await startWeaviateDouble({ apiKey: "k-123", log: (l) => lines.push(l) });
    const ok = new WeaviateVectorStore({ url: guarded.url, apiKey: "k-123", classPrefix: "ShoalKey" });
    await ok.ensureCollection({ name: "texts", dimensions: 4 });
    const wrong = new WeaviateVectorStore({ url: guarded.url, apiKey: "nope", classPrefix: "ShoalKey" });
    await expect(wrong.ensureCollection({ name: "texts", dimensions: 4 })).rejects.toMatchObject({ status: 401, retryable: false });
    expect(guarded.failures).toEqual([]);
    await guarded.close();
  });

  it("refuses a class that exists with another layout", async () => {
    const res = await fetch(`${double.url}/v1/schema`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ class: "ShoalOddTexts", vectorizer: "none", properties: [{ name: "deviceId", dataType: ["text"] }] }),
    });
    expect(res.status).toBe(200);
    const s = store({ classPrefix: "ShoalOdd" });
    await expect(s.ensureCollection({ name: "texts", dimensions: 4 })).rejects.toMatchObject({ code: "invalid_input", message: expect.stringMatching(/tokenized word, not field|missing/) });
  });
});

describe("createVectorStore (vectors config) with the TEST DOUBLE as Weaviate", () => {
  it("opens the configured store: embedded in a directory, or Weaviate once it answers ready", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shoal-vectors-factory-"));
    const weaviate = { url: double.url, batchSize: 50 };
    const embedded = await createVectorStore({ store: "embedded", embedded: { dir }, weaviate });
    expect(embedded.kind).toBe("embedded");
    await embedded.close();
    rmSync(dir, { recursive: true, force: true });
    const w = await createVectorStore({ store: "weaviate", embedded: { dir }, weaviate });
    expect(w.kind).toBe("weaviate");
    await w.close();
    await expect(createVectorStore({ store: "weaviate", embedded: { dir }, weaviate: { url: "http://127.0.0.1:1", batchSize: 50 } })).rejects.toMatchObject({ retryable: true });
  });
});

describe("the Weaviate TEST DOUBLE itself", () => {
  it("answers 422 to a request that does not match Weaviate's OpenAPI document, and records it", async () => {
    const bad = await fetch(`${double.url}/v1/batch/objects`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ objects: [{ class: "X", id: "not-a-uuid", vector: "oops" }] }),
    });
    expect(bad.status).toBe(422);
    const unknownParam = await fetch(`${double.url}/v1/schema?bogus=1`);
    expect(unknownParam.status).toBe(422);
    expect(double.failures.map((f) => f.direction)).toEqual(["request", "request"]);
    expect(double.failures[0]!.problems.join(" ")).toMatch(/uuid|vector/);
    expect(lines.some((l) => l.startsWith("[weaviate-double] (TEST DOUBLE, not Weaviate)"))).toBe(true);
    double.failures.length = 0;
  });
});
