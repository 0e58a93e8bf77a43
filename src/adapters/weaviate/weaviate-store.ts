import * as weaviateModule from "weaviate-ts-client";
import type { ApiKey, ConnectionParams, WeaviateClass, WeaviateClient } from "weaviate-ts-client";
import type { VectorCollection, VectorCollectionSpec, VectorFilter, VectorHit, VectorKind, VectorObject, VectorStore } from "../../ports/vector-store.js";
import { isUuid } from "../../domain/vector-ids.js";
import { VectorStoreError, invalid } from "../vectors/errors.js";
import { checkFilter, checkK, checkObjects, checkSpec, checkVector, lastPerId } from "../vectors/validate.js";
import { HIT_FIELDS, OBJECT_FIELDS, classDefinition, className, incompatibility } from "./class-spec.js";
import { toWeaviateError, withTimeout } from "./errors.js";
import { idsFilter, olderThan, whereFilter } from "./where.js";

export interface WeaviateVectorStoreOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 (the client adds /v1). */
  readonly url: string;
  /** Sent as `Authorization: Bearer` when set. Secret. */
  readonly apiKey?: string;
  /** Objects per batch request (default 100). */
  readonly batchSize?: number;
  /** Class names are `<prefix>AnomalyWindows`, `<prefix>Texts` (default "Shoal"). */
  readonly classPrefix?: string;
  /** Deadline of each request, ms (default 30 s). */
  readonly timeoutMs?: number;
}

/** Weaviate's QUERY_MAXIMUM_RESULTS default caps one batch delete; the loop below goes on while a round hit it. */
const MAX_DELETE_ROUNDS = 100_000;
/** Ids per GraphQL Get by id (an Or of Equal filters). */
const IDS_PER_GET = 100;

/** A per-object batch error that retrying cannot fix. */
const PERMANENT = /dimension|length|invalid|unknown|no such prop|not found|mismatch|parse|must be/i;

interface GqlRow {
  readonly deviceId?: string;
  readonly kind?: string;
  readonly metric?: string;
  readonly text?: string;
  readonly tsMs?: number;
  readonly epoch?: number;
  readonly seq?: number;
  readonly score?: number;
  readonly _additional?: { readonly id?: string; readonly distance?: number; readonly vector?: number[] };
}

function meta(r: GqlRow): Omit<VectorObject, "vector"> {
  return {
    id: String(r._additional?.id),
    kind: (r.kind ?? "") as VectorKind,
    deviceId: r.deviceId ?? "",
    tsMs: r.tsMs ?? 0,
    metric: r.metric ?? "",
    epoch: r.epoch ?? 0,
    seq: r.seq ?? 0,
    score: r.score ?? 0,
    text: r.text ?? "",
  };
}

/**
 * The vector store on a Weaviate server (docs/adr/0014-vector-store.md) through weaviate-ts-client
 * 2.2.0: one class per collection, objects imported in batches under their deterministic UUIDs (a
 * replay overwrites), nearVector search with where filters, retention by batch delete.
 */
export class WeaviateVectorStore implements VectorStore {
  readonly kind = "weaviate";
  private readonly client: WeaviateClient;
  private readonly specs = new Map<VectorCollection, VectorCollectionSpec>();
  private readonly prefix: string;
  private readonly batchSize: number;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(opts: WeaviateVectorStoreOptions) {
    this.prefix = opts.classPrefix ?? "Shoal";
    if (!/^[A-Z][A-Za-z0-9_]*$/.test(this.prefix)) throw invalid(`weaviate: class prefix ${JSON.stringify(this.prefix)} must start with a capital letter`);
    this.batchSize = opts.batchSize ?? 100;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    // The package's types describe its CommonJS build; ESM gets index.mjs, whose default export is the app.
    const app = (weaviateModule as unknown as { default: { client(p: ConnectionParams): WeaviateClient; ApiKey: typeof ApiKey } }).default;
    this.client = app.client({
      host: opts.url.replace(/\/+$/, ""),
      ...(opts.apiKey ? { apiKey: new app.ApiKey(opts.apiKey) } : {}),
    });
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new VectorStoreError("vector store is closed", { reason: "closed" });
    try {
      return await withTimeout(fn(), this.timeoutMs, what);
    } catch (e) {
      throw toWeaviateError(e, what);
    }
  }

  private spec(collection: VectorCollection): { spec: VectorCollectionSpec; name: string } {
    if (this.closed) throw new VectorStoreError("vector store is closed", { reason: "closed" });
    const spec = this.specs.get(collection);
    if (spec === undefined) throw new VectorStoreError(`collection ${collection}: call ensureCollection first`, { reason: "missing_collection" });
    return { spec, name: className(collection, this.prefix) };
  }

  private async findClass(name: string): Promise<WeaviateClass | undefined> {
    const schema = await this.call("read schema", () => this.client.schema.getter().do());
    return schema.classes?.find((c) => c.class === name);
  }

  async ensureCollection(spec: VectorCollectionSpec): Promise<void> {
    checkSpec(spec);
    const name = className(spec.name, this.prefix);
    let existing = await this.findClass(name);
    if (existing === undefined) {
      try {
        await this.call(`create class ${name}`, () => this.client.schema.classCreator().withClass(classDefinition(name, spec.name, spec.dimensions)).do());
      } catch (e) {
        // Another process created it first: use theirs if it fits.
        existing = e instanceof VectorStoreError && e.status === 422 ? await this.findClass(name) : undefined;
        if (existing === undefined) throw e;
      }
    }
    const why = existing === undefined ? undefined : incompatibility(existing);
    if (why !== undefined) throw invalid(`weaviate: class ${name} exists but ${why}`);
    // Weaviate's schema does not record the vector length: read it from a stored object, if any.
    const held = existing === undefined ? undefined : await this.storedDims(name);
    if (held !== undefined && held !== spec.dimensions) throw invalid(`weaviate: class ${name} holds ${held}-dimensional vectors, asked for ${spec.dimensions}`);
    this.specs.set(spec.name, spec);
  }

  private async storedDims(name: string): Promise<number | undefined> {
    const q = this.client.graphql.get().withClassName(name).withFields("_additional { vector }").withLimit(1);
    const res = await this.call(`read a vector of ${name}`, () => q.do());
    const rows = ((res.data as { Get?: Record<string, GqlRow[] | null> }).Get?.[name] ?? []) as GqlRow[];
    return rows[0]?._additional?.vector?.length;
  }

  async upsert(collection: VectorCollection, objects: readonly VectorObject[]): Promise<void> {
    const { spec, name } = this.spec(collection);
    checkObjects(spec, objects);
    const batch = lastPerId(objects);
    for (let i = 0; i < batch.length; i += this.batchSize) {
      const chunk = batch.slice(i, i + this.batchSize).map((o) => ({
        class: name,
        id: o.id,
        vector: Array.from(o.vector),
        properties: { deviceId: o.deviceId, kind: o.kind, metric: o.metric, text: o.text, tsMs: o.tsMs, epoch: o.epoch, seq: o.seq, score: o.score },
      }));
      const res = await this.call(`import ${chunk.length} into ${name}`, () => this.client.batch.objectsBatcher().withObjects(...chunk).do());
      const failed = res.flatMap((r) => (r.result?.errors?.error ?? []).map((e) => `${r.id}: ${e.message ?? "?"}`));
      if (failed.length > 0) {
        const reason = failed.every((m) => PERMANENT.test(m)) ? "invalid" : "unavailable";
        throw new VectorStoreError(`weaviate: import into ${name}: ${failed.length} of ${chunk.length} objects refused (${failed[0]})`, { reason });
      }
    }
  }

  async search(collection: VectorCollection, vector: ArrayLike<number>, k: number, filter?: VectorFilter): Promise<VectorHit[]> {
    const { spec, name } = this.spec(collection);
    checkVector(vector, spec.dimensions, `search ${collection}`);
    checkK(k);
    checkFilter(filter);
    if (filter?.kinds?.length === 0) return [];
    let q = this.client.graphql.get().withClassName(name).withFields(HIT_FIELDS).withNearVector({ vector: Array.from(vector) }).withLimit(k);
    const where = whereFilter(filter);
    if (where !== undefined) q = q.withWhere(where);
    const res = await this.call(`search ${name}`, () => q.do());
    const rows = ((res.data as { Get?: Record<string, GqlRow[] | null> }).Get?.[name] ?? []) as GqlRow[];
    return rows
      .map((r) => ({ ...meta(r), distance: Math.max(0, r._additional?.distance ?? Number.NaN) }))
      .sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async get(collection: VectorCollection, ids: readonly string[]): Promise<VectorObject[]> {
    const { name } = this.spec(collection);
    // A string that is not a UUID names no object (and Weaviate would refuse the filter).
    const wanted = [...new Set(ids)].filter(isUuid);
    const out: VectorObject[] = [];
    for (let i = 0; i < wanted.length; i += IDS_PER_GET) {
      const chunk = wanted.slice(i, i + IDS_PER_GET);
      const q = this.client.graphql.get().withClassName(name).withFields(OBJECT_FIELDS).withWhere(idsFilter(chunk)).withLimit(chunk.length);
      const res = await this.call(`get ${chunk.length} from ${name}`, () => q.do());
      const rows = ((res.data as { Get?: Record<string, GqlRow[] | null> }).Get?.[name] ?? []) as GqlRow[];
      for (const r of rows) out.push({ ...meta(r), vector: Float32Array.from(r._additional?.vector ?? []) });
    }
    return out;
  }

  async deleteOlderThan(collection: VectorCollection, beforeMs: number): Promise<number> {
    const { name } = this.spec(collection);
    if (!Number.isFinite(beforeMs)) throw invalid(`deleteOlderThan: beforeMs must be a finite number`);
    let deleted = 0;
    for (let round = 0; round < MAX_DELETE_ROUNDS; round++) {
      const res = await this.call(`delete from ${name}`, () =>
        this.client.batch.objectsBatchDeleter().withClassName(name).withWhere(olderThan(beforeMs)).withOutput("minimal").do(),
      );
      const r = res.results ?? {};
      deleted += r.successful ?? 0;
      if ((r.failed ?? 0) > 0) throw new VectorStoreError(`weaviate: delete from ${name}: ${r.failed} objects could not be deleted`, { reason: "unavailable" });
      // A round deletes at most `limit` (QUERY_MAXIMUM_RESULTS); more may be left only when it was full.
      if ((r.matches ?? 0) < (r.limit ?? Number.POSITIVE_INFINITY) || (r.successful ?? 0) === 0) return deleted;
    }
    return deleted;
  }

  async count(collection: VectorCollection): Promise<number> {
    const { name } = this.spec(collection);
    const res = await this.call(`count ${name}`, () => this.client.graphql.aggregate().withClassName(name).withFields("meta { count }").do());
    const rows = (res.data as { Aggregate?: Record<string, { meta?: { count?: number } }[] | null> }).Aggregate?.[name] ?? [];
    return rows[0]?.meta?.count ?? 0;
  }

  /** True when the server answers /v1/.well-known/ready. */
  ready(): Promise<boolean> {
    return this.client.misc.readyChecker().do();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
