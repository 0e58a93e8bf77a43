import type { WeaviateClass } from "weaviate-ts-client";
import type { VectorCollection } from "../../ports/vector-store.js";

/**
 * How Shoal's collections look in Weaviate: one class each, vectors supplied by Shoal (vectorizer
 * none), HNSW with cosine distance. Text properties used in filters are tokenized as whole fields
 * (`field`), so Equal on a device id matches that id and not its word pieces ("pump-17" is not
 * "pump"). Numbers are `number` (float64, exact to 2^53): Weaviate's GraphQL `int` is 32-bit and
 * answers null beyond it (weaviate/weaviate#1563), and tsMs, seq and epoch go far beyond.
 */

/** The class of a collection: `<prefix>AnomalyWindows`, `<prefix>Texts`. */
export function className(collection: VectorCollection, prefix: string): string {
  const pascal = collection
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
  return `${prefix}${pascal}`;
}

export const PROPERTIES = [
  { name: "deviceId", dataType: ["text"], tokenization: "field", indexFilterable: true, indexSearchable: false },
  { name: "kind", dataType: ["text"], tokenization: "field", indexFilterable: true, indexSearchable: false },
  { name: "metric", dataType: ["text"], tokenization: "field", indexFilterable: true, indexSearchable: false },
  { name: "text", dataType: ["text"], tokenization: "word", indexFilterable: false, indexSearchable: true },
  { name: "tsMs", dataType: ["number"], indexFilterable: true },
  { name: "epoch", dataType: ["number"], indexFilterable: true },
  { name: "seq", dataType: ["number"], indexFilterable: true },
  { name: "score", dataType: ["number"], indexFilterable: true },
] as const;

/** The GraphQL selection of a hit (the object's properties, its id and distance). */
export const HIT_FIELDS = `${PROPERTIES.map((p) => p.name).join(" ")} _additional { id distance }`;
/** The GraphQL selection of a stored object (with its vector). */
export const OBJECT_FIELDS = `${PROPERTIES.map((p) => p.name).join(" ")} _additional { id vector }`;

export function classDefinition(name: string, collection: VectorCollection, dimensions: number): WeaviateClass {
  return {
    class: name,
    description: `Shoal ${collection} (${dimensions}-dimensional vectors supplied by Shoal)`,
    vectorizer: "none",
    vectorIndexType: "hnsw",
    vectorIndexConfig: { distance: "cosine" },
    properties: PROPERTIES.map((p) => ({ ...p, dataType: [...p.dataType] })),
  };
}

/** Why an existing class cannot hold a collection, or undefined when it can. */
export function incompatibility(existing: WeaviateClass): string | undefined {
  if ((existing.vectorizer ?? "none") !== "none") return `vectorizer is ${existing.vectorizer}, not none`;
  const distance = (existing.vectorIndexConfig as { distance?: string } | undefined)?.distance ?? "cosine";
  if (distance !== "cosine") return `distance is ${distance}, not cosine`;
  for (const p of PROPERTIES) {
    const have = existing.properties?.find((x) => x.name === p.name);
    if (have === undefined) return `property ${p.name} is missing`;
    if (have.dataType?.[0] !== p.dataType[0]) return `property ${p.name} is ${have.dataType?.join(",")}, not ${p.dataType[0]}`;
    if ("tokenization" in p && p.tokenization === "field" && have.tokenization !== "field") return `property ${p.name} is tokenized ${have.tokenization}, not field`;
  }
  return undefined;
}
