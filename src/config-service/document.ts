import YAML from "yaml";
import { ShoalError } from "../base/errors.js";
import { RENAMED_KEYS, diffLeaves, flatten, redact } from "../config/index.js";
import type { LeafChange } from "../config/index.js";
import { isPlainObject, parseYamlLayer } from "../config/layers.js";

// Pure edits of the Consul configuration document (a partial input config as YAML), shared by
// `shoal config` and shoal.v1.ConfigService.

/** A dotted path that cannot name a key: empty, with an empty segment, or reaching into prototypes. */
export class InvalidConfigPathError extends ShoalError {
  override readonly name = "InvalidConfigPathError";
  constructor(readonly path: string) {
    super(`invalid path "${path}"`, { code: "invalid_input", retryable: false });
  }
}

const FORBIDDEN_SEGMENTS = new Set(["__proto__", "prototype", "constructor"]);
const INPUT_OF_OUTPUT = new Map(Object.entries(RENAMED_KEYS).map(([input, output]) => [output, input]));

/**
 * The document path of a key given either as written in a layer (`runtime.snapshotEvery`) or as
 * the resolved configuration shows it (`runtime.snapshotEveryMs`, see RENAMED_KEYS). Throws
 * {@link InvalidConfigPathError} for a path that names no key.
 */
export function documentPath(path: string): string {
  const segments = path.split(".");
  if (segments.some((s) => s === "" || FORBIDDEN_SEGMENTS.has(s))) throw new InvalidConfigPathError(path);
  return INPUT_OF_OUTPUT.get(path) ?? path;
}

/** The resolved-configuration path of a document path (`nats.maxAge` -> `nats.maxAgeMs`). */
export const resolvedPath = (path: string): string => RENAMED_KEYS[path] ?? path;

/**
 * A value as typed by an operator, as YAML (`0.95`, `true`, `[a, b]`, `null`); text that is not
 * YAML stays a string. With `verbatim` (secrets: a token must not turn into a number) the text is
 * the value, except `null`, which still removes the key.
 */
export function parseValue(raw: string, verbatim = false): unknown {
  if (verbatim) return raw.trim() === "null" ? null : raw;
  try {
    // logLevel error: a value like `%s` is a YAML directive; yaml's default would print a warning to
    // stderr for each such request (the gRPC fuzz found it), not tell the caller anything.
    return YAML.parse(raw, { logLevel: "error" }) as unknown;
  } catch {
    return raw;
  }
}

/** The document `text` (undefined: no document) as an object; `label` names it in errors. */
export function documentOf(text: string | undefined, label: string): Record<string, unknown> {
  return text === undefined ? {} : parseYamlLayer(text, label).data;
}

/**
 * Sets `value` at the dotted document `path` of `doc` in place, creating mappings on the way;
 * `null` removes the key and prunes mappings left empty.
 */
export function setPath(doc: Record<string, unknown>, path: string, value: unknown): void {
  const segments = documentPath(path).split(".");
  let node = doc;
  for (const s of segments.slice(0, -1)) {
    if (!isPlainObject(node[s])) node[s] = {};
    node = node[s] as Record<string, unknown>;
  }
  const last = segments[segments.length - 1]!;
  if (value === null) {
    delete node[last];
    pruneEmpty(doc);
  } else {
    node[last] = value;
  }
}

function pruneEmpty(v: Record<string, unknown>): void {
  for (const [k, x] of Object.entries(v)) {
    if (isPlainObject(x)) {
      pruneEmpty(x);
      if (Object.keys(x).length === 0) delete v[k];
    }
  }
}

/** The value at a dotted path of `obj`, `undefined` when absent. */
export function valueAt(obj: unknown, path: string): unknown {
  let node = obj;
  for (const s of path.split(".")) {
    if (!isPlainObject(node) || !Object.hasOwn(node, s)) return undefined;
    node = node[s];
  }
  return node;
}

/**
 * Leaf changes from document `before` to `after`, with secrets redacted. Leaves are compared
 * before redaction, so a secret that changed is listed (as `[redacted]` on both sides).
 */
export function redactedChanges(before: unknown, after: unknown): LeafChange[] {
  const safeBefore = flatten(redact(before));
  const safeAfter = flatten(redact(after));
  return diffLeaves(before, after).map((c) => ({ path: c.path, before: safeBefore.get(c.path), after: safeAfter.get(c.path) }));
}
