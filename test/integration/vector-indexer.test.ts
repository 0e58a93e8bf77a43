import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNats, type ServiceHandle } from "../harness/index.js";
import { createJetStreamRowLog } from "../../src/adapters/nats/row-log.js";
import { createRowLogReader } from "../../src/adapters/nats/row-log-reader.js";
import { EmbeddedVectorStore } from "../../src/adapters/vectors/index.js";
import { RowBinaryWriter } from "../../src/domain/row-binary.js";
import { ANALYSES_SCHEMA, ANALYSES_TABLE, ANOMALY_WINDOWS_SCHEMA, ANOMALY_WINDOWS_TABLE, READINGS_SCHEMA, READINGS_TABLE } from "../../src/domain/tables.js";
import { windowFeatures } from "../../src/domain/window-features.js";
import { createLocalModels } from "../../src/gateway/index.js";
import type { RowSchema, Row } from "../../src/ports/row-sink.js";
import type { VectorStore } from "../../src/ports/vector-store.js";
import { VectorStoreError } from "../../src/adapters/vectors/index.js";
import type { LoggedTableRows } from "../../src/ports/row-feed.js";
import { VectorIndexer } from "../../src/vectors/indexer.js";
import { waitFor } from "../support/pipeline.js";

/**
 * The vector indexer on a real row log (NATS JetStream) into the real embedded store (LanceDB):
 * everything logged is indexed once, the reader's position survives a restart, a store that fails
 * holds entries in the log (redelivered), an entry that cannot be decoded is dead-lettered.
 */
describe("vector indexer (row log → embedded vector store)", () => {
  let nats: ServiceHandle;
  let nc: NatsConnection;
  let dir: string;
  let store: EmbeddedVectorStore;
  const local = createLocalModels();
  const embed = async (texts: readonly string[]) => texts.map((t) => local.embedText(t));
  const shape = (k: number) => Array.from(windowFeatures(Array.from({ length: 64 }, (_, i) => Math.sin(i / (2 + k)) + (i === 47 ? 5 : 0)))!);

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    dir = mkdtempSync(join(tmpdir(), "shoal-vectors-"));
    store = new EmbeddedVectorStore({ dir });
    await store.open();
    await store.ensureCollection({ name: "anomaly_windows", dimensions: 32 });
    await store.ensureCollection({ name: "texts", dimensions: local.dims });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await nc?.close();
    await nats?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const log = () => createJetStreamRowLog(nc, { writer: "node-a", keepMs: 3_600_000, replicas: 1 });
  const append = async (table: string, schema: RowSchema, rows: Row[]) => {
    const l = await log();
    const { binary } = new RowBinaryWriter(schema).encode(rows);
    await l.append([{ table, format: "RowBinary", columns: schema.columns.map((c) => c.name), rows: binary!.rows, chunks: binary!.chunks }]);
    l.close();
  };
  const windows = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({ device_id: `v-${(from + i) % 7}`, epoch: 0, seq: from + i, ts_ms: 1_790_000_000_000 + (from + i) * 1000, metric: "temp", score: 0.95, vector: shape((from + i) % 5) }));
  const analyses = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({ device_id: "v-1", epoch: 0, seq: from + i, ts_ms: 1_790_000_000_000 + (from + i) * 1000, metric: "temp", score: 0.97, summary: `temp rose to ${from + i}`, likely_cause: "a transient burst", suggested_action: "check the fan", provider: "local", model: "local", prompt_version: "explain@v1", cached: 0, degraded: 0, cost_usd: 0, reasons: "", incident_epoch: 0, incident_seq: from + i, incident_ts_ms: 1_790_000_000_000 + (from + i) * 1000 }));

  /** The real store behind a switch that makes its writes fail as an unreachable store's do. */
  let down = false;
  const switched = (): VectorStore =>
    new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === "upsert" && down) return () => Promise.reject(new VectorStoreError("store unreachable (test switch)", { reason: "unavailable" }));
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });

  function start(name: string, poisoned: LoggedTableRows[] = []) {
    const indexer = new VectorIndexer({ store: switched(), embed, indexLogs: false });
    const reader = createRowLogReader(nc, { name, batch: 16 });
    const running = reader.start(
      (e) => indexer.handle(e),
      async (e) => void poisoned.push(e),
    );
    return { indexer, reader, running };
  }

  it("indexes every logged anomaly window and explanation once, and resumes where it stopped", async () => {
    await append(ANOMALY_WINDOWS_TABLE, ANOMALY_WINDOWS_SCHEMA, windows(1, 40));
    await append(ANALYSES_TABLE, ANALYSES_SCHEMA, analyses(1, 10));
    const a = start("shoal-vectors-test");
    await waitFor(async () => [await store.count("anomaly_windows"), await store.count("texts")], ([w, t]) => w === 40 && t === 10, 30_000, "40 windows and 10 texts");
    await a.running.stop();
    // The same rows again (a replay) and new ones, read by a new reader of the same name.
    await append(ANOMALY_WINDOWS_TABLE, ANOMALY_WINDOWS_SCHEMA, windows(1, 40));
    await append(ANOMALY_WINDOWS_TABLE, ANOMALY_WINDOWS_SCHEMA, windows(41, 5));
    const b = start("shoal-vectors-test");
    await waitFor(async () => (await b.reader.backlog()).pending, (n) => n === 0, 30_000, "the second reader to catch up");
    await b.running.stop();
    expect(b.indexer.stats.windows).toBe(45); // only what came after the first reader's position
    expect(await store.count("anomaly_windows")).toBe(45);
    const near = await store.search("anomaly_windows", shape(2), 5, { kinds: ["anomaly_window"] });
    expect(near.every((h) => h.seq % 5 === 2)).toBe(true);
    expect(near[0]!.distance).toBeLessThan(1e-5);
  });

  it("keeps entries in the log while the store fails and indexes them once it is back", async () => {
    await append(ANOMALY_WINDOWS_TABLE, ANOMALY_WINDOWS_SCHEMA, windows(100, 3));
    const before = await store.count("anomaly_windows");
    down = true;
    const c = start("shoal-vectors-test");
    await new Promise((r) => setTimeout(r, 2500));
    expect(await store.count("anomaly_windows")).toBe(before);
    expect((await c.reader.backlog()).pending).toBeGreaterThan(0);
    down = false;
    await waitFor(async () => store.count("anomaly_windows"), (n) => n === before + 3, 60_000, "the three windows after the store came back");
    await c.running.stop();
  });

  it("dead-letters an entry that does not decode and goes on", async () => {
    const l = await log();
    await l.append([{ table: ANOMALY_WINDOWS_TABLE, format: "RowBinary", columns: ANOMALY_WINDOWS_SCHEMA.columns.map((c) => c.name), rows: 1, chunks: [new Uint8Array([1, 2, 3])] }]);
    l.close();
    await append(ANOMALY_WINDOWS_TABLE, ANOMALY_WINDOWS_SCHEMA, windows(200, 2));
    const poisoned: LoggedTableRows[] = [];
    const before = await store.count("anomaly_windows");
    const d = start("shoal-vectors-test", poisoned);
    await waitFor(async () => store.count("anomaly_windows"), (n) => n === before + 2, 30_000, "the two windows after the bad entry");
    await d.running.stop();
    expect(poisoned.map((p) => p.table)).toEqual([ANOMALY_WINDOWS_TABLE]);
  });

  it("reads of readings only the rows with a log line, as the role wires the reader, and indexes each line once per device", async () => {
    // 200 readings, every 25th with a log line (8), two of them the same line of the same device.
    const readings = Array.from({ length: 200 }, (_, i) => ({
      device_id: `r-${i % 4}`,
      epoch: 0,
      seq: i,
      ts_ms: 1_790_000_000_000 + i * 1000,
      metric_names: ["temp"],
      metric_values: [20 + i / 100],
      metric_scores: [0.1],
      score: 0.1,
      log: i % 25 === 0 ? (i === 100 ? "fan restarted" : `boot step ${i}`) : "",
      stream_seq: i,
    }));
    readings[0]!.log = "fan restarted"; // device r-0, as reading 100's
    await append(READINGS_TABLE, READINGS_SCHEMA, readings);
    const textsBefore = await store.count("texts");
    const indexer = new VectorIndexer({ store: switched(), embed, indexLogs: true });
    const handed: number[] = [];
    const reader = createRowLogReader(nc, { name: "shoal-vectors-logs-test", batch: 16, tables: indexer.tables, rows: indexer.rows });
    const running = reader.start(
      (e) => {
        if (e.table === READINGS_TABLE) handed.push(e.rows.length);
        return indexer.handle(e);
      },
      async () => {},
    );
    await waitFor(async () => (await reader.backlog()).pending, (n) => n === 0, 30_000, "the logs reader to catch up");
    await running.stop();
    expect(handed).toEqual([8]); // the other 192 rows were stepped over, not decoded
    expect(indexer.stats.logs).toBe(7);
    expect(indexer.stats.logRepeatsSkipped).toBe(1);
    expect(await store.count("texts")).toBe(textsBefore + 7);
  });
});
