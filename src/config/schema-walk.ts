import type { z } from "zod";

/**
 * Minimal introspection of the zod schema: which keys an object accepts and what kind of leaf
 * a key holds. Used to map environment variables (case-insensitive, `_` ignored) onto
 * camelCase keys and to keep string values of string fields verbatim.
 */

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Strips optional/default/prefault/nullable/readonly wrappers and pipes (to their input). */
export function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const d = defOf(s);
    if (d.innerType && ["optional", "default", "prefault", "nullable", "readonly", "catch", "nonoptional"].includes(d.type)) {
      s = d.innerType;
    } else if (d.type === "pipe" && d.in) {
      s = d.in;
    } else {
      return s;
    }
  }
}

/** The object shape accepted by `schema`, or `undefined` when it is not an object. */
export function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const d = defOf(unwrap(schema));
  return d.type === "object" ? d.shape : undefined;
}

/** The kind of leaf (`string`, `number`, `boolean`, `object`, `unknown`, ...) of `schema`. */
export function kindOf(schema: z.ZodType): string {
  return defOf(unwrap(schema)).type;
}

/** Normalises a key for loose matching: lowercase, without `_` and `-`. */
export function looseKey(k: string): string {
  return k.replace(/[_-]/g, "").toLowerCase();
}

/** `MAX_ACK_PENDING` -> `maxAckPending` (for keys the schema does not know, e.g. free params). */
export function camelCase(k: string): string {
  return k.toLowerCase().replace(/_+([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}
