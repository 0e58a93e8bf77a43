import { readFileSync } from "node:fs";
import YAML from "yaml";
import { ConsulError, createConsulKv } from "../adapters/consul/index.js";
import {
  ConfigConflictError,
  ConfigError,
  RENAMED_KEYS,
  SECRET_KEY_ENV,
  createConfigStore,
  diffLeaves,
  encryptSecret,
  envNameOf,
  generateSecretKey,
  isSecretPath,
  loadConfig,
  parseSecretKey,
  redact,
  resolveConfig,
} from "../config/index.js";
import type { ConfigStore, HistoryEntry, ResolvedConfig } from "../config/index.js";
import { isPlainObject, parseYamlLayer } from "../config/layers.js";
import type { CommandIo } from "./io.js";
import { parseSubcommand } from "./subcommand.js";


const USAGE = `usage: shoal config <command> [options]
  print [--json]                     resolved configuration with the source of every value (secrets redacted)
  get <path>                         resolved value at a dotted path
  set <path> <value>                 set a key in Consul (value is YAML; null removes the key), validated first
  set --file <doc.yaml>              replace the whole Consul document, validated first
  diff [<from> [<to>]]               Consul document changes between history versions (default: last change)
  diff --file <doc.yaml>             changes <doc.yaml> would make to the current Consul document
  history                            versions of the Consul document
  rollback <n>                       write history version <n> back as a new version, validated first
  encrypt <value> | --generate-key   encrypt a secret with ${SECRET_KEY_ENV} (AES-256-GCM) / make a key
options: --env <name> (default SHOAL_ENV or dev)  --config-dir <dir>  --consul <url>  --author <name>  --message <text>
Consul layout: <consul.prefix>/<env>/config.yaml (one YAML document), history under <prefix>/<env>/.history/<n>.
`;

/**
 * `shoal config ...`. Returns the exit code: 0 ok, 1 failed (invalid configuration, Consul
 * error, conflict), 2 usage error.
 */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  const parsed = parseSubcommand(argv, io, USAGE, {
    env: { type: "string" },
    "config-dir": { type: "string" },
    consul: { type: "string" },
    json: { type: "boolean" },
    file: { type: "string" },
    author: { type: "string" },
    message: { type: "string" },
    "generate-key": { type: "boolean" },
  });
  if (typeof parsed === "number") return parsed;
  const { cmd, args, values: o } = parsed;
  const ctx: Ctx = {
    io,
    env: io.env,
    ...(o.env !== undefined ? { envName: o.env } : {}),
    ...(o["config-dir"] !== undefined ? { configDir: o["config-dir"] } : {}),
    ...(o.consul !== undefined ? { consulUrl: o.consul } : {}),
  };
  try {
    switch (cmd) {
      case "print":
        return await print(ctx, o.json === true);
      case "get":
        if (args.length !== 1) return usage(io, "get needs exactly one <path>");
        return await get(ctx, args[0]!);
      case "set":
        if (o.file !== undefined ? args.length !== 0 : args.length !== 2) return usage(io, "set needs <path> <value> or --file <doc.yaml>");
        return await set(ctx, o.file !== undefined ? { file: o.file } : { path: args[0]!, value: args[1]! }, o.author, o.message);
      case "diff":
        if (args.length > 2 || !args.every(isVersion) || (o.file !== undefined && args.length > 0)) {
          return usage(io, "diff takes up to two history versions, or --file <doc.yaml>");
        }
        return await diff(ctx, args.map(Number), o.file);
      case "history":
        if (args.length !== 0) return usage(io, "history takes no arguments");
        return await history(ctx);
      case "rollback":
        if (args.length !== 1 || !isVersion(args[0]!)) return usage(io, "rollback needs one history version <n>");
        return await rollback(ctx, Number(args[0]), o.author);
      case "encrypt":
        if (o["generate-key"]) {
          io.stdout(`${generateSecretKey()}\n`);
          return 0;
        }
        if (args.length !== 1) return usage(io, "encrypt needs exactly one <value> (or --generate-key)");
        return encrypt(ctx, args[0]!);
      default:
        return usage(io, `unknown command "${cmd}"`);
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ConfigConflictError || err instanceof ConsulError) {
      io.stderr(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

interface Ctx {
  readonly io: CommandIo;
  readonly env: Record<string, string | undefined>;
  readonly envName?: string;
  readonly configDir?: string;
  readonly consulUrl?: string;
}

const isVersion = (s: string) => /^[1-9]\d*$/.test(s);

function usage(io: CommandIo, why: string): number {
  io.stderr(`${why}\n${USAGE}`);
  return 2;
}

const resolveOpts = (ctx: Ctx) => ({
  env: ctx.consulUrl ? { ...ctx.env, SHOAL__CONSUL__URL: ctx.consulUrl } : ctx.env,
  ...(ctx.envName !== undefined ? { envName: ctx.envName } : {}),
  ...(ctx.configDir !== undefined ? { configDir: ctx.configDir } : {}),
});

const stderrLogger = (io: CommandIo) => ({
  info: () => {},
  warn: (_f: object, msg: string) => io.stderr(`warning: ${msg}\n`),
  error: (_f: object, msg: string) => io.stderr(`error: ${msg}\n`),
});

async function print(ctx: Ctx, json: boolean): Promise<number> {
  const r = await loadConfig({ connectKv: createConsulKv, ...resolveOpts(ctx), logger: stderrLogger(ctx.io) });
  const safe = redact(r.config, r.encryptedPaths);
  if (json) {
    ctx.io.stdout(`${JSON.stringify({ version: r.version, config: safe, sources: Object.fromEntries(r.sources) }, null, 2)}\n`);
    return 0;
  }
  const rows = [...r.sources.keys()].map((path) => [path, JSON.stringify(valueAt(safe, path)) ?? "undefined", r.sources.get(path)!] as const);
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.min(48, Math.max(...rows.map((x) => x[1].length)));
  ctx.io.stdout(`# env=${r.config.env} version=${r.version} (secrets redacted)\n`);
  for (const [p, v, s] of rows) ctx.io.stdout(`${p.padEnd(w0)} = ${v.padEnd(w1)}  # ${s}\n`);
  return 0;
}

async function get(ctx: Ctx, rawPath: string): Promise<number> {
  const r = await loadConfig({ connectKv: createConsulKv, ...resolveOpts(ctx), logger: stderrLogger(ctx.io) });
  const path = RENAMED_KEYS[rawPath] ?? rawPath;
  const value = valueAt(redact(r.config, r.encryptedPaths), path);
  if (value === undefined) {
    ctx.io.stderr(`${rawPath}: not set\n`);
    return 1;
  }
  ctx.io.stdout(typeof value === "object" && value !== null ? YAML.stringify(value) : `${String(value)}\n`);
  return 0;
}

/** Opens the Consul document store of the selected environment. */
async function withStore<T>(ctx: Ctx, fn: (store: ConfigStore, base: ResolvedConfig) => Promise<T>): Promise<T> {
  const base = resolveConfig({ ...resolveOpts(ctx), decrypt: false });
  const { url, token, prefix } = base.config.consul;
  if (!url) throw new ConfigError([{ path: "consul.url", rule: "required for this command (set it in config/<env>.yaml, SHOAL__CONSUL__URL or --consul)" }]);
  const kv = createConsulKv({ url, ...(token ? { token } : {}) });
  try {
    return await fn(createConfigStore(kv, { prefix, env: envNameOf(resolveOpts(ctx)).name }), base);
  } finally {
    kv.close();
  }
}

/**
 * Validates a Consul document against the files of the selected environment. Environment
 * variables of this CLI process are ignored (the running roles have their own); `enc:` values
 * are checked only when SHOAL_SECRET_KEY is available here.
 */
function validator(ctx: Ctx, source: string) {
  return (doc: Record<string, unknown>) => {
    const env: Record<string, string | undefined> = { SHOAL_SECRET_KEY: ctx.env[SECRET_KEY_ENV], HOSTNAME: ctx.env.HOSTNAME };
    resolveConfig({
      env,
      envName: envNameOf(resolveOpts(ctx)).name,
      ...(ctx.configDir !== undefined ? { configDir: ctx.configDir } : ctx.env.SHOAL_CONFIG_DIR ? { configDir: ctx.env.SHOAL_CONFIG_DIR } : {}),
      consulLayer: doc,
      consulSource: source,
      decrypt: ctx.env[SECRET_KEY_ENV] !== undefined,
    });
  };
}

async function set(ctx: Ctx, what: { file: string } | { path: string; value: string }, author?: string, message?: string): Promise<number> {
  return withStore(ctx, async (store) => {
    const cur = await store.read();
    let text: string;
    let msg: string;
    if ("file" in what) {
      text = readFileSync(what.file, "utf8");
      msg = message ?? `set --file ${what.file}`;
    } else {
      const doc = cur.text === undefined ? {} : parseYamlLayer(cur.text, store.source).data;
      const segments = what.path.split(".");
      if (segments.some((s) => s === "")) return usage(ctx.io, `invalid path "${what.path}"`);
      const value = isSecretPath(what.path) ? what.value : parseValue(what.value);
      setPath(doc, segments, value);
      text = YAML.stringify(doc);
      msg = message ?? `set ${what.path}`;
      if (isSecretPath(what.path) && typeof value === "string" && !value.startsWith("enc:") && value !== "") {
        ctx.io.stderr(`warning: ${what.path} is a secret stored in plain text in Consul; prefer \`shoal config encrypt\`\n`);
      }
    }
    const entry = await store.write(text, {
      expectedModifyIndex: cur.modifyIndex,
      author: author ?? ctx.env.USER ?? "unknown",
      message: msg,
      validate: validator(ctx, store.source),
    });
    ctx.io.stdout(`${store.key}: version ${entry.n} written (${entry.message})\n`);
    return 0;
  });
}

async function rollback(ctx: Ctx, n: number, author?: string): Promise<number> {
  return withStore(ctx, async (store) => {
    const entry = (await store.history()).find((h) => h.n === n);
    if (!entry) {
      ctx.io.stderr(`${store.key}: no history version ${n}\n`);
      return 1;
    }
    const cur = await store.read();
    const written = await store.write(entry.text, {
      expectedModifyIndex: cur.modifyIndex,
      author: author ?? ctx.env.USER ?? "unknown",
      message: `rollback to ${n}`,
      validate: validator(ctx, store.source),
    });
    ctx.io.stdout(`${store.key}: version ${written.n} written (rollback to ${n})\n`);
    return 0;
  });
}

async function history(ctx: Ctx): Promise<number> {
  return withStore(ctx, async (store) => {
    const entries = await store.history();
    if (entries.length === 0) {
      ctx.io.stdout(`${store.key}: no history\n`);
      return 0;
    }
    for (const h of entries) ctx.io.stdout(`${String(h.n).padStart(4)}  ${h.at}  ${h.hash}  ${h.author.padEnd(12)}  ${h.message}\n`);
    return 0;
  });
}

async function diff(ctx: Ctx, versions: number[], file?: string): Promise<number> {
  return withStore(ctx, async (store) => {
    let before: { label: string; text: string | undefined };
    let after: { label: string; text: string | undefined };
    if (file !== undefined) {
      const cur = await store.read();
      before = { label: store.key, text: cur.text };
      after = { label: file, text: readFileSync(file, "utf8") };
      validator(ctx, file)(parseYamlLayer(after.text!, file).data);
    } else {
      const entries = await store.history();
      const pick = (n: number): HistoryEntry => {
        const e = entries.find((h) => h.n === n);
        if (!e) throw new ConfigError([{ path: "(root)", rule: `no history version ${n} in ${store.key}` }]);
        return e;
      };
      if (versions.length === 0) {
        if (entries.length === 0) {
          ctx.io.stdout(`${store.key}: no history\n`);
          return 0;
        }
        const last = entries[entries.length - 1]!;
        const prev = entries.length > 1 ? entries[entries.length - 2]! : undefined;
        before = { label: prev ? `version ${prev.n}` : "(empty)", text: prev?.text };
        after = { label: `version ${last.n}`, text: last.text };
      } else if (versions.length === 1) {
        const from = pick(versions[0]!);
        before = { label: `version ${from.n}`, text: from.text };
        after = { label: store.key, text: (await store.read()).text };
      } else {
        const from = pick(versions[0]!);
        const to = pick(versions[1]!);
        before = { label: `version ${from.n}`, text: from.text };
        after = { label: `version ${to.n}`, text: to.text };
      }
    }
    const docOf = (t: string | undefined, label: string) => (t === undefined ? {} : parseYamlLayer(t, label).data);
    const changes = diffLeaves(redact(docOf(before.text, before.label)), redact(docOf(after.text, after.label)));
    ctx.io.stdout(`--- ${before.label}\n+++ ${after.label}\n`);
    for (const c of changes) {
      if (c.before !== undefined) ctx.io.stdout(`- ${c.path}: ${JSON.stringify(c.before)}\n`);
      if (c.after !== undefined) ctx.io.stdout(`+ ${c.path}: ${JSON.stringify(c.after)}\n`);
    }
    if (changes.length === 0) ctx.io.stdout("(no changes)\n");
    return 0;
  });
}

function encrypt(ctx: Ctx, value: string): number {
  const raw = ctx.env[SECRET_KEY_ENV];
  if (!raw) {
    ctx.io.stderr(`${SECRET_KEY_ENV} is not set (make one with \`shoal config encrypt --generate-key\`)\n`);
    return 1;
  }
  ctx.io.stdout(`${encryptSecret(value, parseSecretKey(raw))}\n`);
  return 0;
}

/** A CLI value as YAML (`0.95`, `true`, `[a, b]`, `null`); unparsable text stays a string. */
function parseValue(raw: string): unknown {
  try {
    return YAML.parse(raw);
  } catch {
    return raw;
  }
}

function setPath(doc: Record<string, unknown>, segments: string[], value: unknown): void {
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

function valueAt(obj: unknown, path: string): unknown {
  let node = obj;
  for (const s of path.split(".")) {
    if (!isPlainObject(node)) return undefined;
    node = node[s];
  }
  return node;
}
