/**
 * The vector store port: where anomaly windows and texts (explanations, reports, device logs) are
 * kept as vectors for similar-incident and semantic search. Two adapters: an embedded default that
 * needs no server (src/adapters/vectors/) and Weaviate (src/adapters/weaviate/). Plain data only.
 */

/** The collections Shoal keeps. */
export type VectorCollection = "anomaly_windows" | "texts";

/** A collection and the length of its vectors (every vector written to it has exactly this many). */
export interface VectorCollectionSpec {
  readonly name: VectorCollection;
  readonly dimensions: number;
}

/** What a vector is about; `anomaly_window` in `anomaly_windows`, the rest in `texts`. */
export type VectorKind = "anomaly_window" | "explanation" | "report" | "log";

/** One object to store. Writing the same `id` twice stores it once (the later write wins). */
export interface VectorObject {
  /** Deterministic UUID of the object's identity (`vectorId`), so a replay rewrites the same object. */
  readonly id: string;
  readonly vector: ArrayLike<number>;
  readonly kind: VectorKind;
  /** Empty for fleet-wide objects (reports). */
  readonly deviceId: string;
  /** Time the object is about (the anomaly's reading, the report's period end), ms since the epoch. */
  readonly tsMs: number;
  /** The anomaly's metric (anomaly windows); empty otherwise. */
  readonly metric: string;
  /** The reading's epoch and seq (anomaly windows and explanations); 0 otherwise. */
  readonly epoch: number;
  readonly seq: number;
  /** Anomaly score in [0, 1] (anomaly windows and explanations); 0 otherwise. */
  readonly score: number;
  /** The text embedded (texts); empty for anomaly windows. */
  readonly text: string;
}

/** Restricts a search; every field set must hold. */
export interface VectorFilter {
  readonly deviceId?: string;
  /** Leave out this device (fleet-wide look-alikes of one device's incident). */
  readonly excludeDeviceId?: string;
  /** Any of these kinds; an empty list matches nothing. */
  readonly kinds?: readonly VectorKind[];
  /** tsMs range, inclusive from, exclusive to. */
  readonly fromMs?: number;
  readonly toMs?: number;
}

/** A search result: the stored object without its vector, and its cosine distance (0 = same direction, 2 = opposite). */
export interface VectorHit extends Omit<VectorObject, "vector"> {
  readonly distance: number;
}

export interface VectorStore {
  /** Which adapter ("embedded", "weaviate"), for logs and metrics. */
  readonly kind: string;
  /** Creates the collection if missing; idempotent. Must be called before writing or searching it. */
  ensureCollection(spec: VectorCollectionSpec): Promise<void>;
  /** Stores `objects` durably (resolves once they survive a process crash); idempotent by id. */
  upsert(collection: VectorCollection, objects: readonly VectorObject[]): Promise<void>;
  /** The `k` nearest objects to `vector` by cosine distance that pass `filter`, nearest first. */
  search(collection: VectorCollection, vector: ArrayLike<number>, k: number, filter?: VectorFilter): Promise<VectorHit[]>;
  /** Objects by id, with their vectors (missing ids left out; order not specified). */
  get(collection: VectorCollection, ids: readonly string[]): Promise<VectorObject[]>;
  /** Deletes objects with tsMs < `beforeMs` (retention); returns how many were deleted when known, else -1. */
  deleteOlderThan(collection: VectorCollection, beforeMs: number): Promise<number>;
  count(collection: VectorCollection): Promise<number>;
  close(): Promise<void>;
}
