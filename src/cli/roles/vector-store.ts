import type { NatsConnection } from "@nats-io/transport-node";
import type { ShoalConfig } from "../../config/index.js";
import type { Logger } from "../../observability/logger.js";
import type { ModelGateway } from "../../ports/gateway.js";
import type { IncidentReporter } from "../../ports/incidents.js";
import type { VectorStore } from "../../ports/vector-store.js";
import type { EventPublisher } from "../../ports/journal.js";
import { createVectorStore } from "../../adapters/vectors/index.js";
import { createRowLogReader } from "../../adapters/nats/row-log-reader.js";
import { VectorIndexer } from "../../vectors/indexer.js";

/**
 * The configured vector store (embedded or Weaviate) with its collections ready — the texts' at
 * the length of the gateway's embeddings, asked once (best effort: without an answer the texts
 * collection is made by the first text indexed) — or undefined when it cannot open (logged).
 */
export async function openVectorStore(cfg: ShoalConfig, log: Logger, gateway?: ModelGateway): Promise<VectorStore | undefined> {
  try {
    const store = await createVectorStore(cfg.vectors, { log });
    await store.ensureCollection({ name: "anomaly_windows", dimensions: cfg.vectors.dimensions.anomalyWindow });
    if (gateway) {
      const dims = await gateway.embed({ text: "dimensions", subjectId: "vectors" }).then(
        (r) => r.vector.length,
        () => 0,
      );
      if (dims > 0) await store.ensureCollection({ name: "texts", dimensions: dims });
    }
    log.info({ store: store.kind }, "vector store open");
    return store;
  } catch (e) {
    log.error({ err: (e as Error).message, store: cfg.vectors.store }, "vector store not opened: similar-incident and text search are unavailable");
    return undefined;
  }
}

export interface VectorIndexerRole {
  readonly indexer: VectorIndexer;
  close(): Promise<void>;
}

/**
 * The vector indexer: reads the row log durably (docs/adr/0015) and writes anomaly windows,
 * explanations and device logs into the vector store. An embedded store is local to this process,
 * so its reader has a name of its own per node; a shared store (Weaviate) is written by one
 * shared reader name whichever node runs it. The backlog is checked every 30 s: entries the log
 * dropped before they were indexed are an incident (`vectors.behind-log`).
 */
export function startVectorIndexer(
  cfg: ShoalConfig,
  log: Logger,
  deps: { nc: NatsConnection; store: VectorStore; gateway: ModelGateway; events: EventPublisher; incidents: IncidentReporter },
): VectorIndexerRole {
  const name = deps.store.kind === "embedded" ? `shoal-vectors-${cfg.nodeId.replace(/[^A-Za-z0-9_-]/g, "_")}` : "shoal-vectors";
  const indexer = new VectorIndexer({
    store: deps.store,
    embed: (texts) => Promise.all(texts.map(async (text) => (await deps.gateway.embed({ text, subjectId: "vectors" })).vector)),
    indexLogs: cfg.vectors.indexLogs,
  });
  // Readings entries (most of the log) are not even decoded unless device log lines are indexed,
  // and then only their rows with a log line.
  const feed = createRowLogReader(deps.nc, { name, tables: indexer.tables, rows: indexer.rows });
  const enc = new TextEncoder();
  const reader = feed.start(
    (entry) => indexer.handle(entry),
    async (entry, err) => {
      log.warn({ table: entry.table, rows: entry.rows.length, err: (err as Error)?.message }, "vector indexer: entry dead-lettered");
      await deps.events.deadLetter({ stage: "vectors", code: "not_indexable", reason: (err as Error)?.message ?? String(err), source: `row log ${entry.table}`, payload: enc.encode(JSON.stringify(entry.rows.slice(0, 20))) });
    },
  );
  // Vectors follow their rows' retention (clickhouse.retention: anomaly_windows; texts as the
  // longest-kept of their sources, analyses and reports: one collection, one cutoff).
  const prune = async () => {
    const keep = cfg.clickhouse.retention.keepMs;
    const texts = [keep["analyses"] ?? 0, keep["reports"] ?? 0];
    for (const [collection, ms] of [["anomaly_windows", keep["anomaly_windows"] ?? 0], ["texts", texts.includes(0) ? 0 : Math.max(...texts)]] as const) {
      if (ms <= 0) continue;
      const n = await deps.store.deleteOlderThan(collection, Date.now() - ms).catch((e: Error) => (log.warn({ err: e.message, collection }, "vector retention failed; tried again at the next check"), 0));
      if (n > 0) log.info({ collection, deleted: n }, "vector retention");
    }
  };
  const retention = cfg.clickhouse.retention.checkEveryMs > 0 ? setInterval(() => void prune(), cfg.clickhouse.retention.checkEveryMs) : undefined;
  retention?.unref();
  let reported = 0;
  const timer = setInterval(() => {
    feed.backlog().then(
      (b) => {
        if (b.lostBefore > reported) {
          reported = b.lostBefore;
          deps.incidents.report({
            kind: "vectors.behind-log",
            message: "the row log dropped entries before the vector indexer read them: rebuild the vectors of that time (shoal vectors rebuild --since …)",
            detail: { reader: name, logStartsAt: b.lostBefore, pending: b.pending },
          });
        }
      },
      () => {},
    );
  }, 30_000);
  timer.unref();
  log.info({ reader: name, store: deps.store.kind }, "vector indexer started");
  return {
    indexer,
    async close() {
      clearInterval(timer);
      clearInterval(retention);
      await reader.stop();
    },
  };
}
