import { isPlainObject } from "./layers.js";

/** Flattens a document to `dotted.path -> leaf` (arrays and empty mappings are leaves). */
export function flatten(v: unknown, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (isPlainObject(v) && (Object.keys(v).length > 0 || !prefix)) {
    for (const [k, x] of Object.entries(v)) if (x !== undefined) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, v);
  }
  return out;
}

/** One changed leaf: `before` undefined = added, `after` undefined = removed. */
export interface LeafChange {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** Leaf-level differences between two documents, sorted by path. */
export function diffLeaves(a: unknown, b: unknown): LeafChange[] {
  const fa = flatten(a);
  const fb = flatten(b);
  const paths = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  const out: LeafChange[] = [];
  for (const path of paths) {
    const before = fa.get(path);
    const after = fb.get(path);
    if (JSON.stringify(before) !== JSON.stringify(after)) out.push({ path, before, after });
  }
  return out;
}

/** Paths (never values) of the leaves that differ: safe to log. */
export function changedPaths(a: unknown, b: unknown): string[] {
  return diffLeaves(a, b).map((c) => c.path);
}
