import { readFileSync } from "node:fs";
import YAML from "yaml";
import type { z } from "zod";
import { ConfigError } from "./errors.js";
import { camelCase, kindOf, looseKey, shapeOf } from "./schema-walk.js";
import { isSecretPath, typeName } from "./schema.js";

/**
 * A configuration layer: a partial input document and the name of where it came from.
 * Layers merge in order, later wins, leaf by leaf: mappings merge, arrays and scalars replace.
 * A `null` (empty) value unsets a scalar so the schema default applies again; over a mapping
 * it does nothing (a section header with everything commented out must not wipe the section).
 */
export interface Layer {
  /** `default.yaml`, `dev.yaml`, `consul:shoal/dev/config.yaml`, `env:SHOAL__NATS__URL`, ... */
  readonly source: string;
  readonly data: Record<string, unknown>;
}

/** Result of merging layers: the input document and the source of every input leaf. */
export interface Merged {
  readonly data: Record<string, unknown>;
  /** Dotted input path of each leaf -> source of its value. */
  readonly sources: Map<string, string>;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** Merges `layers` in order (later wins) tracking the source of every leaf. */
export function mergeLayers(layers: readonly Layer[]): Merged {
  const data: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  const dropUnder = (path: string) => {
    for (const k of [...sources.keys()]) if (k === path || k.startsWith(`${path}.`)) sources.delete(k);
  };
  const mergeInto = (target: Record<string, unknown>, src: Record<string, unknown>, prefix: string, source: string) => {
    for (const [k, v] of Object.entries(src)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (v === null || v === undefined) {
        // `key:` with nothing under it (YAML null) must not wipe a whole section.
        if (isPlainObject(target[k])) continue;
        delete target[k];
        dropUnder(path);
      } else if (isPlainObject(v)) {
        if (!isPlainObject(target[k])) {
          dropUnder(path);
          target[k] = {};
          if (Object.keys(v).length === 0) sources.set(path, source);
        }
        mergeInto(target[k] as Record<string, unknown>, v, path, source);
      } else {
        dropUnder(path);
        target[k] = Array.isArray(v) ? structuredClone(v) : v;
        sources.set(path, source);
      }
    }
  };
  for (const layer of layers) mergeInto(data, layer.data, "", layer.source);
  return { data, sources };
}

/**
 * Parses a YAML document into a layer. Syntax errors are reported by position and code only:
 * the yaml library's message quotes the offending line, which may hold a secret.
 */
export function parseYamlLayer(text: string, source: string): Layer {
  const doc = YAML.parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        path: "(root)",
        rule: `invalid YAML at line ${lineOf(text, e.pos[0])} (${e.code})`,
        source,
      })),
    );
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return { source, data: {} };
  if (!isPlainObject(data)) {
    throw new ConfigError([{ path: "(root)", rule: `expected a mapping, got ${typeName(data)}`, source }]);
  }
  return { source, data };
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Reads a YAML file as a layer named `source`; a missing file is an empty layer (`undefined`). */
export function readYamlLayer(file: string, source: string): Layer | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return parseYamlLayer(text, source);
}

/** Prefix of environment variables that set configuration keys (`SHOAL__NATS__URL`). */
export const ENV_PREFIX = "SHOAL__";

/**
 * One layer per `SHOAL__A__B=value` variable, sorted by name. Segments are matched to schema
 * keys case-insensitively ignoring `_` (so `MAX_ACK_PENDING` and `MAXACKPENDING` both find
 * `maxAckPending`); segments the schema does not know are camelCased. Values are YAML scalars
 * (`0.95` is a number, `true` a boolean, empty means unset) except for string fields and
 * secrets, which are taken verbatim.
 */
export function envLayers(env: Record<string, string | undefined>, schema: z.ZodType): Layer[] {
  const names = Object.keys(env)
    .filter((n) => n.startsWith(ENV_PREFIX) && env[n] !== undefined)
    .sort();
  return names.map((name) => {
    const raw = env[name]!;
    const segments = name.slice(ENV_PREFIX.length).split("__").filter((s) => s.length > 0);
    const keys: string[] = [];
    let node: z.ZodType | undefined = schema;
    for (const seg of segments) {
      const shape: Record<string, z.ZodType> | undefined = node ? shapeOf(node) : undefined;
      const match: string | undefined = shape ? Object.keys(shape).find((k) => looseKey(k) === looseKey(seg)) : undefined;
      keys.push(match ?? camelCase(seg));
      node = match && shape ? shape[match] : undefined;
    }
    const path = keys.join(".");
    const verbatim = raw !== "" && ((node !== undefined && kindOf(node) === "string") || isSecretPath(path));
    const value = verbatim ? raw : parseScalar(raw);
    let data: Record<string, unknown> = {};
    if (keys.length === 0) return { source: `env:${name}`, data };
    data = { [keys[keys.length - 1]!]: value };
    for (let i = keys.length - 2; i >= 0; i--) data = { [keys[i]!]: data };
    return { source: `env:${name}`, data };
  });
}

function parseScalar(raw: string): unknown {
  try {
    return YAML.parse(raw, { logLevel: "error" });
  } catch {
    return raw;
  }
}
