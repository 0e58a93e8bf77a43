/**
 * The query side of the Weaviate TEST DOUBLE (weaviate-double.ts): where filters (REST batch delete
 * and GraphQL) and the two GraphQL queries Shoal's adapter sends, evaluated by brute force over the
 * double's objects: `Get { <Class>(nearVector, where, limit) { props _additional { id distance vector } } }`
 * and `Aggregate { <Class> { meta { count } } }`. Anything else is answered with a GraphQL error
 * naming what the double does not implement. Not a model of Weaviate's internals: exact cosine
 * search, no HNSW.
 */
import { Kind, parse, valueFromASTUntyped } from "graphql";
import { cosineDistance as shapeDistance } from "../../src/domain/window-features.js";
import type { FieldNode, SelectionSetNode } from "graphql";

export interface StoredObject {
  readonly id: string;
  readonly vector: number[];
  readonly properties: Record<string, unknown>;
  readonly creationTimeUnix: number;
  readonly lastUpdateTimeUnix: number;
}

export interface StoredProperty {
  readonly name: string;
  readonly dataType: string[];
  readonly tokenization?: string;
}

export interface StoredClass {
  readonly name: string;
  readonly properties: StoredProperty[];
  readonly objects: Map<string, StoredObject>;
  /** Vector length, fixed by the first object (as Weaviate does). */
  dims?: number;
}

export interface Where {
  readonly operator?: string;
  readonly operands?: Where[];
  readonly path?: string[];
  readonly [value: `value${string}`]: unknown;
}

/** Weaviate's QUERY_MAXIMUM_RESULTS and QUERY_DEFAULTS_LIMIT defaults. */
export const QUERY_MAXIMUM_RESULTS = 10_000;
const QUERY_DEFAULTS_LIMIT = 10;

export class QueryError extends Error {}

function valueOf(w: Where): { type: string; value: unknown } {
  const keys = Object.keys(w).filter((k) => k.startsWith("value"));
  if (keys.length !== 1) throw new QueryError(`where: exactly one value<Type> is needed, got ${keys.join(", ") || "none"}`);
  return { type: keys[0]!.replace(/Array$/, ""), value: w[keys[0] as `value${string}`] };
}

/** Whether `o` of class `c` passes the where filter (errors as Weaviate would report them). */
export function matchWhere(w: Where, c: StoredClass, o: StoredObject): boolean {
  if (w.operator === "And") return (w.operands ?? []).every((x) => matchWhere(x, c, o));
  if (w.operator === "Or") return (w.operands ?? []).some((x) => matchWhere(x, c, o));
  const path = w.path ?? [];
  if (path.length !== 1) throw new QueryError(`where: path ${JSON.stringify(path)} is not supported by the double (one property)`);
  const { type, value } = valueOf(w);
  let actual: unknown;
  if (path[0] === "id") {
    if (type !== "valueText" && type !== "valueString") throw new QueryError(`where: id is filtered with valueText, not ${type}`);
    actual = o.id;
  } else {
    const p = c.properties.find((x) => x.name === path[0]);
    if (p === undefined) throw new QueryError(`where: no such prop with name '${path[0]}' found in class '${c.name}' in the schema`);
    const dt = p.dataType[0];
    const want = dt === "text" ? "valueText" : dt === "number" ? "valueNumber" : dt === "int" ? "valueInt" : dt;
    if (type !== want && !(dt === "text" && type === "valueString")) throw new QueryError(`where: data type filter cannot use "${type}" on type "${dt}"`);
    if (dt === "text" && p.tokenization !== "field" && (w.operator === "Equal" || w.operator === "NotEqual" || w.operator === "ContainsAny")) {
      // Real Weaviate compares word tokens then: "pump-17" would equal "pump". The double refuses.
      throw new QueryError(`where: ${w.operator} on text property ${p.name} tokenized "${p.tokenization ?? "word"}" matches tokens, not values (the double only filters field-tokenized text)`);
    }
    actual = o.properties[p.name];
  }
  const list = Array.isArray(value) ? value : [value];
  switch (w.operator) {
    case "Equal":
      return actual === value;
    case "NotEqual":
      return actual !== value;
    case "ContainsAny":
      return list.includes(actual);
    case "GreaterThan":
      return (actual as number) > (value as number);
    case "GreaterThanEqual":
      return (actual as number) >= (value as number);
    case "LessThan":
      return (actual as number) < (value as number);
    case "LessThanEqual":
      return (actual as number) <= (value as number);
    default:
      throw new QueryError(`where: operator ${w.operator} is not implemented by the double`);
  }
}

/** Cosine distance as Weaviate reports it (float32). */
export function cosineDistance(a: readonly number[], b: readonly number[]): number {
  return Math.fround(shapeDistance(a, b));
}

function fieldsOf(set: SelectionSetNode | undefined): FieldNode[] {
  return (set?.selections ?? []).map((s) => {
    if (s.kind !== Kind.FIELD) throw new QueryError("fragments are not implemented by the double");
    return s;
  });
}

function args(f: FieldNode): Record<string, unknown> {
  return Object.fromEntries((f.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]));
}

function get(f: FieldNode, c: StoredClass): unknown[] {
  const a = args(f);
  for (const k of Object.keys(a)) if (!["nearVector", "where", "limit"].includes(k)) throw new QueryError(`Get argument ${k} is not implemented by the double`);
  const limit = a.limit === undefined ? QUERY_DEFAULTS_LIMIT : Number(a.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > QUERY_MAXIMUM_RESULTS) throw new QueryError(`limit must be in 1..${QUERY_MAXIMUM_RESULTS}, got ${String(a.limit)}`);
  const where = a.where as Where | undefined;
  let rows = [...c.objects.values()].filter((o) => where === undefined || matchWhere(where, c, o)).map((o) => ({ o, distance: undefined as number | undefined }));
  const near = a.nearVector as { vector?: number[] } | undefined;
  if (near !== undefined) {
    const v = near.vector ?? [];
    if (c.dims !== undefined && v.length !== c.dims) throw new QueryError(`explorer: get class: vector search: vector lengths don't match: ${v.length} vs ${c.dims}`);
    rows = rows.map((r) => ({ o: r.o, distance: cosineDistance(v, r.o.vector) })).sort((x, y) => x.distance! - y.distance!);
  }
  const selection = fieldsOf(f.selectionSet);
  return rows.slice(0, limit).map(({ o, distance }) => {
    const out: Record<string, unknown> = {};
    for (const s of selection) {
      const name = s.name.value;
      if (name === "_additional") {
        const add: Record<string, unknown> = {};
        for (const x of fieldsOf(s.selectionSet)) {
          if (x.name.value === "id") add.id = o.id;
          else if (x.name.value === "distance") add.distance = distance ?? null;
          else if (x.name.value === "vector") add.vector = o.vector;
          else throw new QueryError(`_additional { ${x.name.value} } is not implemented by the double`);
        }
        out._additional = add;
      } else if (c.properties.some((p) => p.name === name)) out[name] = o.properties[name] ?? null;
      else throw new QueryError(`Cannot query field "${name}" on type "${c.name}".`);
    }
    return out;
  });
}

function aggregate(f: FieldNode, c: StoredClass): unknown[] {
  const a = args(f);
  for (const k of Object.keys(a)) if (k !== "where") throw new QueryError(`Aggregate argument ${k} is not implemented by the double`);
  const where = a.where as Where | undefined;
  const count = [...c.objects.values()].filter((o) => where === undefined || matchWhere(where, c, o)).length;
  const out: Record<string, unknown> = {};
  for (const s of fieldsOf(f.selectionSet)) {
    if (s.name.value !== "meta" || fieldsOf(s.selectionSet).some((x) => x.name.value !== "count")) throw new QueryError(`Aggregate { ${s.name.value} } is not implemented by the double (meta { count } only)`);
    out.meta = { count };
  }
  return [out];
}

/** Runs one GraphQL document against the classes: `{ data }` or `{ errors }` as Weaviate answers (HTTP 200 either way). */
export function executeGraphQL(query: string, classes: ReadonlyMap<string, StoredClass>): { data?: Record<string, unknown>; errors?: { message: string }[] } {
  try {
    const doc = parse(query);
    if (doc.definitions.length !== 1 || doc.definitions[0]!.kind !== Kind.OPERATION_DEFINITION || doc.definitions[0].operation !== "query") {
      throw new QueryError("one query operation is expected");
    }
    const data: Record<string, unknown> = {};
    for (const top of fieldsOf(doc.definitions[0].selectionSet)) {
      const kind = top.name.value;
      if (kind !== "Get" && kind !== "Aggregate") throw new QueryError(`${kind} is not implemented by the double (Get, Aggregate)`);
      const byClass: Record<string, unknown> = {};
      for (const f of fieldsOf(top.selectionSet)) {
        const c = classes.get(f.name.value);
        if (c === undefined) throw new QueryError(`Cannot query field "${f.name.value}" on type "${kind === "Get" ? "GetObjectsObj" : "AggregateObjectsObj"}".`);
        byClass[f.name.value] = kind === "Get" ? get(f, c) : aggregate(f, c);
      }
      data[kind] = byClass;
    }
    return { data };
  } catch (e) {
    return { errors: [{ message: e instanceof Error ? e.message : String(e) }] };
  }
}
