import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { connect } from "@lancedb/lancedb";
import type { Connection } from "@lancedb/lancedb";
import type { Log } from "../../ports/log.js";
import type { VectorCollection, VectorCollectionSpec, VectorFilter, VectorHit, VectorObject, VectorStore } from "../../ports/vector-store.js";
import { describeError } from "../../base/errors.js";
import { VectorStoreError, invalid, toEmbeddedError } from "./errors.js";
import { DirLock } from "./dir-lock.js";
import { DEFAULT_TUNING, LanceCollection } from "./lance-collection.js";
import type { LanceTuning, MaintenanceReport } from "./lance-collection.js";
import { checkFilter, checkK, checkObjects, checkSpec, checkVector } from "./validate.js";

export interface EmbeddedVectorStoreOptions {
  /** Directory of the tables (created if missing); relative paths from the working directory. */
  readonly dir: string;
  readonly tuning?: Partial<LanceTuning>;
  /** Where failed background maintenance is reported (it is retried at the next write). */
  readonly log?: Log;
}

/**
 * The default vector store: LanceDB embedded in the process, one table per collection in
 * `dir` (docs/adr/0014-vector-store.md). Brute-force (exact) search below `tuning.indexAbove` rows,
 * an IVF_PQ index with exact re-ranking above. One process per directory (a lock file says so).
 */
export class EmbeddedVectorStore implements VectorStore {
  readonly kind = "embedded";
  readonly dir: string;
  private readonly tuning: LanceTuning;
  private db: Promise<{ conn: Connection; lock: DirLock }> | undefined;
  private readonly collections = new Map<VectorCollection, Promise<{ spec: VectorCollectionSpec; col: LanceCollection }>>();
  private closed = false;

  constructor(private readonly opts: EmbeddedVectorStoreOptions) {
    this.dir = resolve(opts.dir);
    this.tuning = { ...DEFAULT_TUNING, ...opts.tuning };
  }

  /** Creates the directory and connects (else done by the first ensureCollection). */
  async open(): Promise<void> {
    this.assertOpen();
    await wrap(this.connection(), `open ${this.dir}`);
  }

  private async connection(): Promise<Connection> {
    this.db ??= (async () => {
      await mkdir(this.dir, { recursive: true });
      const lock = await DirLock.acquire(this.dir);
      try {
        return { conn: await connect(this.dir), lock };
      } catch (e) {
        await lock.release();
        throw e;
      }
    })();
    this.db.catch(() => (this.db = undefined));
    return (await this.db).conn;
  }

  async ensureCollection(spec: VectorCollectionSpec): Promise<void> {
    this.assertOpen();
    checkSpec(spec);
    let entry = this.collections.get(spec.name);
    if (entry === undefined) {
      entry = (async () => {
        const onError = (err: unknown) => this.opts.log?.warn({ collection: spec.name, err: describeError(err) }, "vector store maintenance failed (retried at the next write)");
        const col = await LanceCollection.open(await this.connection(), spec.name, spec.dimensions, this.tuning, onError);
        return { spec, col };
      })();
      this.collections.set(spec.name, entry);
      entry.catch(() => this.collections.delete(spec.name));
    }
    const { spec: have } = await wrap(entry, `open collection ${spec.name}`);
    if (have.dimensions !== spec.dimensions) throw invalid(`collection ${spec.name} has ${have.dimensions} dimensions, asked for ${spec.dimensions}`);
  }

  private assertOpen(): void {
    if (this.closed) throw new VectorStoreError("vector store is closed", { reason: "closed" });
  }

  private async collection(name: VectorCollection): Promise<{ spec: VectorCollectionSpec; col: LanceCollection }> {
    this.assertOpen();
    const entry = this.collections.get(name);
    if (entry === undefined) throw new VectorStoreError(`collection ${name}: call ensureCollection first`, { reason: "missing_collection" });
    return wrap(entry, `open collection ${name}`);
  }

  async upsert(collection: VectorCollection, objects: readonly VectorObject[]): Promise<void> {
    const { spec, col } = await this.collection(collection);
    checkObjects(spec, objects);
    if (objects.length === 0) return;
    await wrap(col.upsert(objects), `upsert ${objects.length} into ${collection}`);
  }

  async search(collection: VectorCollection, vector: ArrayLike<number>, k: number, filter?: VectorFilter): Promise<VectorHit[]> {
    const { spec, col } = await this.collection(collection);
    checkVector(vector, spec.dimensions, `search ${collection}`);
    checkK(k);
    checkFilter(filter);
    return wrap(col.search(vector, k, filter), `search ${collection}`);
  }

  async get(collection: VectorCollection, ids: readonly string[]): Promise<VectorObject[]> {
    const { col } = await this.collection(collection);
    if (ids.length === 0) return [];
    return wrap(col.get(ids), `get ${ids.length} from ${collection}`);
  }

  async deleteOlderThan(collection: VectorCollection, beforeMs: number): Promise<number> {
    const { col } = await this.collection(collection);
    if (!Number.isFinite(beforeMs)) throw invalid(`deleteOlderThan: beforeMs must be a finite number`);
    return wrap(col.deleteOlderThan(beforeMs), `delete from ${collection}`);
  }

  async count(collection: VectorCollection): Promise<number> {
    const { col } = await this.collection(collection);
    return wrap(col.count(), `count ${collection}`);
  }

  /**
   * Compacts the table and updates its indexes now; `retrain` rebuilds the ANN index; versions
   * older than `keepVersionsMs` are deleted (benchmarks, operators).
   */
  async maintain(collection: VectorCollection, opts: { readonly retrain?: boolean; readonly keepVersionsMs?: number } = {}): Promise<MaintenanceReport> {
    const { col } = await this.collection(collection);
    return wrap(col.maintain(opts.retrain ?? false, opts.keepVersionsMs), `maintain ${collection}`);
  }

  /** Whether searches of `collection` use the ANN index. */
  async indexState(collection: VectorCollection): Promise<{ readonly ann: boolean; readonly trainedRows: number }> {
    return (await this.collection(collection)).col.indexState();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const entries = await Promise.allSettled([...this.collections.values()]);
    for (const e of entries) if (e.status === "fulfilled") await e.value.col.close().catch(() => undefined);
    this.collections.clear();
    const db = await this.db?.catch(() => undefined);
    db?.conn.close();
    await db?.lock.release();
  }
}

async function wrap<T>(p: Promise<T>, what: string): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw toEmbeddedError(e, what);
  }
}
