import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "./errors.js";
import type { ConfigIssue } from "./errors.js";
import { toConfigIssues } from "./issues.js";
import { envLayers, isPlainObject, mergeLayers, readYamlLayer } from "./layers.js";
import type { Layer } from "./layers.js";
import { RENAMED_KEYS, configSchema } from "./schema.js";
import type { ShoalConfig } from "./schema.js";
import { ENC_PREFIX, SECRET_KEY_ENV, decryptSecret, parseSecretKey } from "./secrets.js";

/** A validated configuration with provenance. Immutable: treat as read-only. */
export interface ResolvedConfig {
  readonly config: ShoalConfig;
  /**
   * Dotted output path of every leaf (`nats.duplicateWindowMs`) -> where its value came from:
   * `default.yaml`, `<env>.yaml`, `consul:<prefix>/<env>/config.yaml`, `env:SHOAL__...`,
   * `env:HOSTNAME`, `env:SHOAL_ENV`, `argument` (envName option) or `schema` (built-in default).
   */
  readonly sources: Map<string, string>;
  /** Content hash of `config` (16 hex chars): equal configs have equal versions. */
  readonly version: string;
  /** Output paths whose value was `enc:` encrypted (to be redacted wherever shown). */
  readonly encryptedPaths: ReadonlySet<string>;
}

/** Inputs of {@link resolveConfig}. Nothing is read from `process.env`. */
export interface ResolveOptions {
  /** The process environment (SHOAL_ENV, SHOAL__*, SHOAL_SECRET_KEY, HOSTNAME, SHOAL_CONFIG_DIR). */
  readonly env: Record<string, string | undefined>;
  /** Folder with default.yaml and <env>.yaml. Default: env SHOAL_CONFIG_DIR, else the repo's config/. */
  readonly configDir?: string;
  /** Environment name; default: env SHOAL_ENV, else "dev". */
  readonly envName?: string;
  /** Parsed Consul document (`<prefix>/<env>/config.yaml`), placed between files and env vars. */
  readonly consulLayer?: Record<string, unknown>;
  /** Source label of the Consul layer. Default `consul:shoal/<env>/config.yaml`. */
  readonly consulSource?: string;
  /**
   * Decrypt `enc:` values (default true). `false` leaves them as opaque strings, so a document
   * can be validated by a tool that does not hold the key.
   */
  readonly decrypt?: boolean;
}

/** The repo's config/ folder, found relative to this module (works from src/ and dist/). */
export const DEFAULT_CONFIG_DIR = fileURLToPath(new URL("../../config", import.meta.url));

const ENV_NAME_RE = /^[a-z0-9][a-z0-9_-]*$/;

/** Which environment is selected and why (the `env` key always equals it). */
export function envNameOf(opts: Pick<ResolveOptions, "env" | "envName">): { name: string; source: string } {
  const { name, source } =
    opts.envName !== undefined
      ? { name: opts.envName, source: "argument" }
      : opts.env.SHOAL_ENV !== undefined && opts.env.SHOAL_ENV !== ""
        ? { name: opts.env.SHOAL_ENV, source: "env:SHOAL_ENV" }
        : { name: "dev", source: "schema" };
  if (!ENV_NAME_RE.test(name)) {
    throw new ConfigError([{ path: "env", rule: "must be lowercase letters, digits, _ and -", source }]);
  }
  return { name, source };
}

/** The configuration layers in precedence order, lowest first. */
export function collectLayers(opts: ResolveOptions): Layer[] {
  const { name, source: envSource } = envNameOf(opts);
  const dir = opts.configDir ?? opts.env.SHOAL_CONFIG_DIR ?? DEFAULT_CONFIG_DIR;
  const layers: Layer[] = [];
  if (opts.env.HOSTNAME) layers.push({ source: "env:HOSTNAME", data: { nodeId: opts.env.HOSTNAME } });
  const base = readYamlLayer(join(dir, "default.yaml"), "default.yaml");
  if (base) layers.push(base);
  if (name !== "default") {
    const overlay = readYamlLayer(join(dir, `${name}.yaml`), `${name}.yaml`);
    if (overlay) layers.push(overlay);
  }
  if (opts.consulLayer) {
    layers.push({ source: opts.consulSource ?? `consul:shoal/${name}/config.yaml`, data: opts.consulLayer });
  }
  layers.push(...envLayers(opts.env, configSchema));
  // The selected environment is authoritative: a file cannot claim to be another env.
  layers.push({ source: envSource, data: { env: name } });
  return layers;
}

/**
 * Resolves the configuration synchronously from files, an optional already-fetched Consul
 * layer and environment variables (later wins). Throws {@link ConfigError} listing every issue.
 */
export function resolveConfig(opts: ResolveOptions): ResolvedConfig {
  const merged = mergeLayers(collectLayers(opts));
  const sourceOf = (path: string) => lookupSource(merged.sources, path);
  const encryptedInput = opts.decrypt === false ? new Set<string>() : decryptTree(merged.data, opts.env, sourceOf);
  const parsed = configSchema.safeParse(merged.data, { reportInput: true });
  if (!parsed.success) throw new ConfigError(toConfigIssues(parsed.error.issues, sourceOf));
  const config = parsed.data;
  const sources = new Map<string, string>();
  for (const path of leafPaths(config)) sources.set(path, merged.sources.get(inputPathOf(path)) ?? "schema");
  const encryptedPaths = new Set([...encryptedInput].map(outputPathOf));
  return { config, sources, version: configVersion(config), encryptedPaths };
}

/** Content hash of a configuration (stable key order). */
export function configVersion(config: unknown): string {
  return createHash("sha256").update(stableJson(config)).digest("hex").slice(0, 16);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

const OUTPUT_TO_INPUT = new Map(Object.entries(RENAMED_KEYS).map(([i, o]) => [o, i]));
const inputPathOf = (outputPath: string) => OUTPUT_TO_INPUT.get(outputPath) ?? outputPath;
const outputPathOf = (inputPath: string) => RENAMED_KEYS[inputPath] ?? inputPath;

/**
 * Source to blame for an issue at `path`: its own, else that of the nearest ancestor set as
 * a whole, else (for an issue on a mapping) the last source found under it.
 */
function lookupSource(sources: Map<string, string>, path: string): string | undefined {
  for (let p = path; p; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
    const s = sources.get(p);
    if (s) return s;
  }
  let under: string | undefined;
  for (const [k, s] of sources) if (k.startsWith(`${path}.`)) under = s;
  return under;
}

/** Dotted paths of all leaves; arrays and empty mappings are leaves. */
export function leafPaths(v: unknown, prefix = ""): string[] {
  if (!isPlainObject(v) || (Object.keys(v).length === 0 && prefix)) return prefix ? [prefix] : [];
  const out: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    out.push(...leafPaths(x, prefix ? `${prefix}.${k}` : k));
  }
  return out;
}

/** Decrypts every `enc:` string in place; returns their input paths. */
function decryptTree(
  data: Record<string, unknown>,
  env: Record<string, string | undefined>,
  sourceOf: (path: string) => string | undefined,
): Set<string> {
  const found: Array<{ obj: Record<string, unknown> | unknown[]; key: string | number; path: string; value: string }> = [];
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        if (typeof x === "string" && x.startsWith(ENC_PREFIX)) found.push({ obj: v, key: i, path: `${path}[${i}]`, value: x });
        else walk(x, `${path}[${i}]`);
      });
    } else if (isPlainObject(v)) {
      for (const [k, x] of Object.entries(v)) {
        const p = path ? `${path}.${k}` : k;
        if (typeof x === "string" && x.startsWith(ENC_PREFIX)) found.push({ obj: v, key: k, path: p, value: x });
        else walk(x, p);
      }
    }
  };
  walk(data, "");
  if (found.length === 0) return new Set();
  const rawKey = env[SECRET_KEY_ENV];
  if (!rawKey) {
    throw new ConfigError(
      found.map((f) => withSource({ path: f.path, rule: `encrypted value but ${SECRET_KEY_ENV} is not set` }, sourceOf(f.path))),
    );
  }
  const key = parseSecretKey(rawKey);
  const issues: ConfigIssue[] = [];
  for (const f of found) {
    const plain = decryptSecret(f.value, key);
    if (plain === undefined) {
      issues.push(withSource({ path: f.path, rule: `cannot decrypt (wrong ${SECRET_KEY_ENV} or corrupted value)` }, sourceOf(f.path)));
    } else {
      (f.obj as Record<string | number, unknown>)[f.key] = plain;
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return new Set(found.map((f) => f.path));
}

function withSource(issue: { path: string; rule: string }, source: string | undefined): ConfigIssue {
  return source ? { ...issue, source } : issue;
}
