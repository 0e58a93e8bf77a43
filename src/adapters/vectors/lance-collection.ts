import { Index } from "@lancedb/lancedb";
import type { Connection, Table } from "@lancedb/lancedb";
import type { VectorFilter, VectorHit, VectorObject } from "../../ports/vector-store.js";
import { invalid } from "./errors.js";
import { IdFilter } from "./id-filter.js";
import { META_COLUMNS, idsIn, rowToHit, rowToObject, schemaDims, sqlNumber, tableSchema, toArrowTable, whereClause } from "./lance-rows.js";
import type { Row } from "./lance-rows.js";
import { lastPerId } from "./validate.js";

/** How the embedded store indexes and maintains a table (defaults measured in docs/adr/0014-vector-store.md). */
export interface LanceTuning {
  /** Rows at which the ANN index (IVF_PQ) is first built; below it every search is brute force (exact). */
  readonly indexAbove: number;
  /** The index is retrained when the table has grown this many times since it was trained. */
  readonly retrainGrowth: number;
  /** Compaction + index update (LanceDB `optimize`) after this many rows written ... */
  readonly optimizeEveryRows: number;
  /** ... or this many commits (each upsert or delete is one), whichever comes first. */
  readonly optimizeEveryCommits: number;
  /** IVF partitions probed per search. */
  readonly nprobes: number;
  /** Candidates re-ranked with the exact vectors, as a multiple of k (so distances are exact). */
  readonly refineFactor: number;
  /** Old table versions are deleted at maintenance once older than this (in-flight reads use the newest). */
  readonly keepVersionsMs: number;
  /**
   * Most of the time maintenance may take while writes go on: after a pass that took d ms the next
   * waits until d × (1 / share − 1) ms have passed. Compaction and index updates grow with the
   * table (seconds at 1M rows), so under a bulk load they run less often instead of stalling it.
   */
  readonly maintenanceShare: number;
}

export const DEFAULT_TUNING: LanceTuning = {
  indexAbove: 20_000,
  retrainGrowth: 4,
  optimizeEveryRows: 20_000,
  optimizeEveryCommits: 64,
  nprobes: 20,
  refineFactor: 20,
  keepVersionsMs: 60_000,
  maintenanceShare: 0.2,
};

/** What one maintenance pass did (for logs and the benchmark). */
export interface MaintenanceReport {
  readonly optimizeMs: number;
  /** Time spent (re)training the ANN index, 0 when it was not due. */
  readonly indexMs: number;
  readonly rows: number;
}

const SCALAR_INDEXES: readonly { column: string; config: () => Index }[] = [
  { column: "id", config: () => Index.btree() },
  { column: "device_id", config: () => Index.btree() },
  { column: "ts_ms", config: () => Index.btree() },
  { column: "kind", config: () => Index.bitmap() },
];

/** IVF_PQ sub-vectors: the most that leave at least 4 dimensions each and divide `dims` (8 for 32). */
function subVectors(dims: number): number {
  for (let s = Math.floor(dims / 4); s > 1; s--) if (dims % s === 0) return s;
  return 1;
}

/**
 * One collection as one LanceDB table. Writes (upserts, deletes, maintenance) run one at a time in
 * arrival order; reads run beside them. Maintenance is queued after the write that makes it due, so
 * a write resolves as soon as its own commit is done.
 */
export class LanceCollection {
  private chain: Promise<unknown> = Promise.resolve();
  private rows: number;
  private annIndex: boolean;
  private trainedRows: number;
  private writtenSinceOptimize = 0;
  private commitsSinceOptimize = 0;
  private maintenanceQueued = false;
  private lastMaintenanceEnd = 0;
  private lastMaintenanceMs = 0;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private closing = false;

  private constructor(
    readonly table: Table,
    readonly dims: number,
    private readonly tuning: LanceTuning,
    private readonly onMaintenanceError: (err: unknown) => void,
    private ids: IdFilter,
    state: { rows: number; annIndex: boolean; trainedRows: number },
  ) {
    this.rows = state.rows;
    this.annIndex = state.annIndex;
    this.trainedRows = state.trainedRows;
  }

  /** Opens the table `name`, creating it (with its scalar indexes) when missing. */
  static async open(db: Connection, name: string, dims: number, tuning: LanceTuning, onMaintenanceError: (err: unknown) => void): Promise<LanceCollection> {
    const exists = (await db.tableNames()).includes(name);
    const table = exists ? await db.openTable(name) : await db.createEmptyTable(name, tableSchema(dims), { mode: "create", existOk: true });
    const have = schemaDims(await table.schema());
    if (have !== dims) throw invalid(`collection ${name} holds ${have ?? "no"}-dimensional vectors, asked for ${dims}`);
    const indices = await table.listIndices();
    for (const s of SCALAR_INDEXES) {
      if (!indices.some((i) => i.columns.includes(s.column))) await table.createIndex(s.column, { config: s.config() });
    }
    const ann = indices.find((i) => i.columns.includes("vector"));
    const rows = await table.countRows();
    // Rows indexed so far stand in for the training size (the index may have grown by updates since).
    const trainedRows = ann === undefined ? 0 : Math.max(1, ann.numIndexedRows ?? rows);
    return new LanceCollection(table, dims, tuning, onMaintenanceError, await LanceCollection.loadIds(table, rows), { rows, annIndex: ann !== undefined, trainedRows });
  }

  /** A filter of every id the table holds, with room for twice as many. */
  private static async loadIds(table: Table, rows: number): Promise<IdFilter> {
    const f = new IdFilter(Math.max(65_536, 2 * rows));
    for await (const batch of table.query().select(["id"])) {
      const col = batch.getChild("id");
      if (col !== null) for (const id of col) f.add(String(id));
    }
    return f;
  }

  /** Runs `fn` after every earlier write, whatever became of them. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  upsert(objects: readonly VectorObject[]): Promise<void> {
    return this.serial(async () => {
      const batch = lastPerId(objects);
      const data = toArrowTable(batch, this.dims);
      const maybe = batch.filter((o) => this.ids.mayHave(o.id)).map((o) => o.id);
      const existing = maybe.length === 0 ? 0 : await this.existingIds(maybe);
      // Before the write: an id in the filter whose write failed only costs a lookup later.
      for (const o of batch) this.ids.add(o.id);
      if (existing === 0) {
        // New objects (the usual case): a plain append, whose cost does not grow with the table.
        await this.table.add(data);
        this.rows += batch.length;
      } else {
        // A replay: merge on id, so stored ids are rewritten in place, atomically with the inserts.
        const r = await this.table.mergeInsert("id").whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data);
        this.rows += r.numInsertedRows;
      }
      if (this.ids.size > this.ids.capacity) this.ids = await LanceCollection.loadIds(this.table, this.rows);
      this.wrote(batch.length);
    });
  }

  /** How many of `ids` the table holds (exact; the id index answers). */
  private async existingIds(ids: readonly string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += 1000) n += await this.table.countRows(idsIn(ids.slice(i, i + 1000)));
    return n;
  }

  deleteOlderThan(beforeMs: number): Promise<number> {
    return this.serial(async () => {
      const where = `ts_ms < ${sqlNumber(beforeMs)}`;
      const n = await this.table.countRows(where);
      if (n > 0) {
        await this.table.delete(where);
        this.rows -= n;
        this.wrote(n);
      }
      return n;
    });
  }

  private wrote(rows: number): void {
    this.writtenSinceOptimize += rows;
    this.commitsSinceOptimize++;
    this.scheduleMaintenance();
  }

  /** Queues a maintenance pass when one is due and the duty cycle allows, else re-checks when it will. */
  private scheduleMaintenance(): void {
    const t = this.tuning;
    const due = this.writtenSinceOptimize >= t.optimizeEveryRows || this.commitsSinceOptimize >= t.optimizeEveryCommits || this.indexDue();
    if (!due || this.maintenanceQueued || this.closing) return;
    const wait = this.lastMaintenanceEnd + this.lastMaintenanceMs * (1 / t.maintenanceShare - 1) - Date.now();
    if (wait > 0) {
      this.maintenanceTimer ??= setTimeout(() => {
        this.maintenanceTimer = undefined;
        this.scheduleMaintenance();
      }, wait).unref();
      return;
    }
    this.maintenanceQueued = true;
    this.serial(() => this.runMaintenance(false)).catch(this.onMaintenanceError);
  }

  private indexDue(): boolean {
    return this.annIndex ? this.rows >= this.trainedRows * this.tuning.retrainGrowth && this.rows >= this.tuning.indexAbove : this.rows >= this.tuning.indexAbove;
  }

  /**
   * Compaction, index update, old versions deleted (older than `keepVersionsMs`, default the
   * tuning's); the ANN index (re)trained when due or `retrain`.
   */
  maintain(retrain = false, keepVersionsMs = this.tuning.keepVersionsMs): Promise<MaintenanceReport> {
    return this.serial(() => this.runMaintenance(retrain, keepVersionsMs));
  }

  private async runMaintenance(retrain: boolean, keepVersionsMs = this.tuning.keepVersionsMs): Promise<MaintenanceReport> {
    this.maintenanceQueued = false;
    const t0 = performance.now();
    try {
      return await this.maintenancePass(retrain, keepVersionsMs);
    } finally {
      this.lastMaintenanceMs = performance.now() - t0;
      this.lastMaintenanceEnd = Date.now();
    }
  }

  private async maintenancePass(retrain: boolean, keepVersionsMs: number): Promise<MaintenanceReport> {
    const t0 = performance.now();
    await this.table.optimize({ cleanupOlderThan: new Date(Date.now() - keepVersionsMs) });
    this.writtenSinceOptimize = 0;
    this.commitsSinceOptimize = 0;
    const t1 = performance.now();
    if ((retrain && this.rows > 0) || this.indexDue()) {
      // PQ needs 256 training rows per sub-quantizer codebook; smaller tables stay brute force.
      if (this.rows >= 256) {
        // 10 k-means iterations: 50 (the default) took 25 s on 60k rows for no better recall (ADR 0014).
        const config = Index.ivfPq({ distanceType: "cosine", numSubVectors: subVectors(this.dims), maxIterations: 10 });
        await this.table.createIndex("vector", { config, replace: true });
        this.annIndex = true;
        this.trainedRows = this.rows;
      }
    }
    return { optimizeMs: t1 - t0, indexMs: performance.now() - t1, rows: this.rows };
  }

  async search(vector: ArrayLike<number>, k: number, filter: VectorFilter | undefined): Promise<VectorHit[]> {
    if (filter?.kinds?.length === 0) return [];
    const where = whereClause(filter);
    const q = Float32Array.from(vector);
    // One device's objects are few: exact search over the rows its index finds. Elsewhere ANN;
    // if a filter leaves ANN short of k while more rows match, exact search over the filtered rows.
    const ann = this.annIndex && filter?.deviceId === undefined;
    let hits = await this.query(q, k, where, ann);
    if (ann && where !== undefined && hits.length < k && (await this.table.countRows(where)) > hits.length) {
      hits = await this.query(q, k, where, false);
    }
    return hits;
  }

  private async query(q: Float32Array, k: number, where: string | undefined, ann: boolean): Promise<VectorHit[]> {
    let s = this.table.vectorSearch(q).distanceType("cosine").select([...META_COLUMNS, "_distance"]).limit(k);
    if (where !== undefined) s = s.where(where);
    s = ann ? s.nprobes(this.tuning.nprobes).refineFactor(this.tuning.refineFactor) : s.bypassVectorIndex();
    const rows = (await s.toArray()) as Row[];
    return rows.map(rowToHit).sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async get(ids: readonly string[]): Promise<VectorObject[]> {
    const unique = [...new Set(ids)];
    const out: VectorObject[] = [];
    for (let i = 0; i < unique.length; i += 1000) {
      const chunk = unique.slice(i, i + 1000);
      const rows = (await this.table.query().where(idsIn(chunk)).select([...META_COLUMNS, "vector"]).limit(chunk.length).toArray()) as Row[];
      out.push(...rows.map(rowToObject));
    }
    return out;
  }

  count(): Promise<number> {
    return this.table.countRows();
  }

  /** Whether searches use the ANN index (else brute force), and the rows it was trained on. */
  indexState(): { readonly ann: boolean; readonly trainedRows: number } {
    return { ann: this.annIndex, trainedRows: this.trainedRows };
  }

  /** Waits for every queued write and maintenance pass, then closes the table. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.maintenanceTimer);
    await this.serial(async () => undefined);
    this.table.close();
  }
}
