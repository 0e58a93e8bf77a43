import type { VectorCollection, VectorCollectionSpec, VectorFilter, VectorKind, VectorObject } from "../../ports/vector-store.js";
import { isUuid } from "../../domain/vector-ids.js";
import { invalid } from "./errors.js";

/**
 * Checks shared by both adapters, so they refuse the same inputs: objects, query vectors and
 * filters. Everything refused here is a caller's bug (not retryable).
 */

export const COLLECTIONS: readonly VectorCollection[] = ["anomaly_windows", "texts"];
export const KINDS: readonly VectorKind[] = ["anomaly_window", "explanation", "report", "log"];

/** Largest `k` a search may ask for (Weaviate's default QUERY_MAXIMUM_RESULTS). */
export const MAX_K = 10_000;

export function checkSpec(spec: VectorCollectionSpec): void {
  if (!COLLECTIONS.includes(spec.name)) throw invalid(`unknown collection ${JSON.stringify(spec.name)}`);
  if (!Number.isInteger(spec.dimensions) || spec.dimensions < 1 || spec.dimensions > 65_536) {
    throw invalid(`${spec.name}: dimensions must be an integer in 1..65536, got ${spec.dimensions}`);
  }
}

/** A finite vector of `dims` numbers with a length (cosine needs a direction). */
export function checkVector(v: ArrayLike<number>, dims: number, what: string): void {
  if (v.length !== dims) throw invalid(`${what}: vector has ${v.length} dimensions, the collection ${dims}`);
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x)) throw invalid(`${what}: vector[${i}] is not a finite number`);
    norm += x * x;
  }
  if (norm === 0) throw invalid(`${what}: the zero vector has no direction (cosine distance is undefined)`);
}

function checkText(s: unknown, field: string, what: string): void {
  if (typeof s !== "string") throw invalid(`${what}: ${field} must be a string`);
  if (s.includes("\u0000")) throw invalid(`${what}: ${field} contains a NUL character`);
}

function checkNumber(n: unknown, field: string, what: string): void {
  if (typeof n !== "number" || !Number.isFinite(n)) throw invalid(`${what}: ${field} must be a finite number`);
  if (Math.abs(n) > Number.MAX_SAFE_INTEGER) throw invalid(`${what}: ${field} is beyond 2^53`);
}

export function checkObjects(spec: VectorCollectionSpec, objects: readonly VectorObject[]): void {
  for (const o of objects) {
    const what = `${spec.name} object ${JSON.stringify(o.id)}`;
    if (typeof o.id !== "string" || !isUuid(o.id)) throw invalid(`${what}: id must be a lowercase UUID (vectorId)`);
    if (!KINDS.includes(o.kind)) throw invalid(`${what}: unknown kind ${JSON.stringify(o.kind)}`);
    if ((o.kind === "anomaly_window") !== (spec.name === "anomaly_windows")) throw invalid(`${what}: kind ${o.kind} does not belong in ${spec.name}`);
    checkVector(o.vector, spec.dimensions, what);
    checkText(o.deviceId, "deviceId", what);
    checkText(o.metric, "metric", what);
    checkText(o.text, "text", what);
    checkNumber(o.tsMs, "tsMs", what);
    checkNumber(o.epoch, "epoch", what);
    checkNumber(o.seq, "seq", what);
    checkNumber(o.score, "score", what);
  }
}

export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw invalid(`k must be an integer in 1..${MAX_K}, got ${k}`);
}

export function checkFilter(f: VectorFilter | undefined): void {
  if (f === undefined) return;
  if (f.deviceId !== undefined) checkText(f.deviceId, "deviceId", "filter");
  if (f.excludeDeviceId !== undefined) checkText(f.excludeDeviceId, "excludeDeviceId", "filter");
  if (f.kinds !== undefined) for (const k of f.kinds) if (!KINDS.includes(k)) throw invalid(`filter: unknown kind ${JSON.stringify(k)}`);
  if (f.fromMs !== undefined) checkNumber(f.fromMs, "fromMs", "filter");
  if (f.toMs !== undefined) checkNumber(f.toMs, "toMs", "filter");
}

/** The objects with duplicate ids removed, the later of each id kept (last write wins). */
export function lastPerId<T extends { readonly id: string }>(objects: readonly T[]): T[] {
  const byId = new Map<string, T>();
  for (const o of objects) {
    byId.delete(o.id);
    byId.set(o.id, o);
  }
  return [...byId.values()];
}
