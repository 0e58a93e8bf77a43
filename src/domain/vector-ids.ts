import { createHash } from "node:crypto";

/**
 * Deterministic ids of stored vectors: a name-based (version 5, SHA-1) UUID in RFC 4122 format over
 * a fixed namespace, so the same identity (an anomaly window's device, epoch, seq and metric; a
 * text's kind and source key) always gets the same id and a replay overwrites instead of adding.
 * Ids are persisted in the vector store (LanceDB, Weaviate): never change the namespace or the
 * name encoding.
 */

/** Shoal's namespace for vector ids (a random UUID, fixed forever). */
export const VECTOR_ID_NAMESPACE = "5b0c6b3e-8f2a-4d7c-9e61-3a4f1d2c8b90";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for a UUID in canonical lowercase RFC 4122 text form. */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** RFC 4122 §4.3 name-based UUID, version 5: SHA-1 over the namespace's 16 bytes and the name's UTF-8. */
export function uuidV5(namespace: string, name: string): string {
  if (!isUuid(namespace)) throw new TypeError(`uuidV5: namespace ${JSON.stringify(namespace)} is not a lowercase UUID`);
  const ns = Buffer.from(namespace.replaceAll("-", ""), "hex");
  const h = createHash("sha1").update(ns).update(name, "utf8").digest();
  h[6] = (h[6]! & 0x0f) | 0x50; // version 5
  h[8] = (h[8]! & 0x3f) | 0x80; // variant RFC 4122
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * The id of the vector whose identity is `parts`. The name hashed is the JSON text of the parts
 * array, so parts never run into each other (`("a/b", "c")` ≠ `("a", "b/c")`) and a number differs
 * from its string (`3` ≠ `"3"`). Numbers must be finite.
 */
export function vectorId(...parts: (string | number)[]): string {
  if (parts.length === 0) throw new TypeError("vectorId: at least one part is needed");
  for (const p of parts) {
    if (typeof p === "number" && !Number.isFinite(p)) throw new TypeError(`vectorId: part ${p} is not a finite number`);
  }
  // -0 and 0 are the same identity (JSON writes both as 0).
  return uuidV5(VECTOR_ID_NAMESPACE, JSON.stringify(parts));
}
