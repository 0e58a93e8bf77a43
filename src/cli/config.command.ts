import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import YAML from "yaml";
import { createClickHouseAuditLog } from "../adapters/clickhouse/audit-log.js";
import { ConsulError, createConsulKv } from "../adapters/consul/index.js";
import { errorMessage } from "../base/errors.js";
import { ConfigConflictError, ConfigError, SECRET_KEY_ENV, encryptSecret, generateSecretKey, loadConfig, parseSecretKey, redact } from "../config/index.js";
import { parseYamlLayer } from "../config/layers.js";
import {
  ConfigVersionNotFoundError,
  InvalidConfigPathError,
  applyEdit,
  diffChanges,
  documentPath,
  documentValidator,
  pickDiff,
  planRollback,
  planSet,
  resolveOptionsOf,
  resolvedPath,
  valueAt,
  withConfigDocument,
} from "../config-service/index.js";
import type { ConfigTarget, DiffSide, DocumentEdit, OpenDocument, SetEdit } from "../config-service/index.js";
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

/** The configuration `shoal config` works on: --consul overrides consul.url of files and environment. */
const targetOf = (ctx: Ctx): ConfigTarget => ({
  env: ctx.consulUrl ? { ...ctx.env, SHOAL__CONSUL__URL: ctx.consulUrl } : ctx.env,
  ...(ctx.envName !== undefined ? { envName: ctx.envName } : {}),
  ...(ctx.configDir !== undefined ? { configDir: ctx.configDir } : {}),
  connectKv: createConsulKv,
});

const stderrLogger = (io: CommandIo) => ({
  info: () => {},
  warn: (_f: object, msg: string) => io.stderr(`warning: ${msg}\n`),
  error: (_f: object, msg: string) => io.stderr(`error: ${msg}\n`),
});

async function print(ctx: Ctx, json: boolean): Promise<number> {
  const t = targetOf(ctx);
  const r = await loadConfig({ connectKv: t.connectKv, ...resolveOptionsOf(t), logger: stderrLogger(ctx.io) });
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
  const t = targetOf(ctx);
  const r = await loadConfig({ connectKv: t.connectKv, ...resolveOptionsOf(t), logger: stderrLogger(ctx.io) });
  const value = valueAt(redact(r.config, r.encryptedPaths), resolvedPath(rawPath));
  if (value === undefined) {
    ctx.io.stderr(`${rawPath}: not set\n`);
    return 1;
  }
  ctx.io.stdout(typeof value === "object" && value !== null ? YAML.stringify(value) : `${String(value)}\n`);
  return 0;
}

/** Opens the Consul document of the selected environment (shared with shoal.v1.ConfigService). */
function withStore<T>(ctx: Ctx, fn: (doc: OpenDocument) => Promise<T>): Promise<T> {
  const noConsul = () => new ConfigError([{ path: "consul.url", rule: "required for this command (set it in config/<env>.yaml, SHOAL__CONSUL__URL or --consul)" }]);
  return withConfigDocument(targetOf(ctx), noConsul, fn);
}

const authorOf = (ctx: Ctx, author: string | undefined) => author ?? ctx.env.USER ?? "unknown";

async function set(ctx: Ctx, what: { file: string } | { path: string; value: string }, author?: string, message?: string): Promise<number> {
  return withStore(ctx, async (doc) => {
    let edit: Pick<DocumentEdit, "current" | "text" | "message">;
    if ("file" in what) {
      edit = { current: await doc.store.read(), text: readFileSync(what.file, "utf8"), message: `set --file ${what.file}` };
    } else {
      let planned: SetEdit;
      try {
        planned = await planSet(doc.store, what.path, what.value);
      } catch (err) {
        if (err instanceof InvalidConfigPathError) return usage(ctx.io, err.message);
        throw err;
      }
      if (planned.plainSecret) {
        ctx.io.stderr(`warning: ${what.path} is a secret stored in plain text in Consul; prefer \`shoal config encrypt\`\n`);
      }
      edit = planned;
    }
    const entry = await applyEdit(doc, edit, { author: authorOf(ctx, author), message: message ?? edit.message });
    ctx.io.stdout(`${doc.store.key}: version ${entry.n} written (${entry.message})\n`);
    const changes = "changes" in edit ? { changes: edit.changes } : {};
    await recordAudit(ctx, "cli/config set", "file" in what ? "config/" : `config/${documentPath(what.path)}`, { key: doc.store.key, version: entry.n, message: entry.message, ...changes });
    return 0;
  });
}

async function rollback(ctx: Ctx, n: number, author?: string): Promise<number> {
  return withStore(ctx, async (doc) => {
    let edit: DocumentEdit;
    try {
      edit = await planRollback(doc.store, n);
    } catch (err) {
      if (!(err instanceof ConfigVersionNotFoundError)) throw err;
      ctx.io.stderr(`${err.message}\n`);
      return 1;
    }
    const written = await applyEdit(doc, edit, { author: authorOf(ctx, author), message: edit.message });
    ctx.io.stdout(`${doc.store.key}: version ${written.n} written (${written.message})\n`);
    await recordAudit(ctx, "cli/config rollback", "config/", { key: doc.store.key, version: written.n, message: written.message, to: n, changes: edit.changes });
    return 0;
  });
}

/**
 * Records a change made here, without an RPC, in the audit log (ClickHouse `audit_log` of the
 * loaded configuration) as actor `cli:<OS user>`, source "local": one insert, at most 5 s. The
 * change is made already: a failure only prints a warning (exit code unchanged).
 */
async function recordAudit(ctx: Ctx, action: string, target: string, details: Record<string, unknown>): Promise<void> {
  let failure: string | undefined;
  try {
    const t = targetOf(ctx);
    const { clickhouse: ch } = (await loadConfig({ connectKv: t.connectKv, ...resolveOptionsOf(t), logger: { info: () => {}, warn: () => {}, error: () => {} } })).config;
    const quiet = () => {};
    const log = { debug: quiet, info: quiet, error: quiet, warn: (f: object | string) => void (failure = typeof f === "object" ? String((f as { err?: unknown }).err ?? "insert failed") : f) };
    const audit = createClickHouseAuditLog({ url: ch.url, database: ch.database, username: ch.username, password: ch.password, requestTimeoutMs: 5_000 }, { log, flushIntervalMs: 60_000 });
    await audit.record({ atMs: Date.now(), actor: `cli:${osUser(ctx)}`, actorRole: "", source: "local", action, target, outcome: "ok", details });
    await audit.close(); // the one insert; a failure is counted as lost
    if (audit.stats.written !== 1) failure ??= "not written";
  } catch (err) {
    failure = errorMessage(err);
  }
  if (failure !== undefined) ctx.io.stderr(`warning: the audit log did not record this change: ${failure}\n`);
}

/** The OS user running the command (USER when the system has no name for it). */
function osUser(ctx: Ctx): string {
  try {
    return userInfo().username;
  } catch {
    return ctx.env.USER ?? "unknown";
  }
}

async function history(ctx: Ctx): Promise<number> {
  return withStore(ctx, async ({ store }) => {
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
  return withStore(ctx, async ({ store }) => {
    let sides: { before: DiffSide; after: DiffSide } | undefined;
    if (file !== undefined) {
      const after = { label: file, text: readFileSync(file, "utf8") };
      sides = { before: { label: store.key, text: (await store.read()).text }, after };
      documentValidator(targetOf(ctx), file)(parseYamlLayer(after.text, file).data);
    } else {
      try {
        sides = await pickDiff(store, versions[0] ?? 0, versions[1] ?? 0);
      } catch (err) {
        if (!(err instanceof ConfigVersionNotFoundError)) throw err;
        throw new ConfigError([{ path: "(root)", rule: `no history version ${err.version} in ${store.key}` }]);
      }
      if (sides === undefined) {
        ctx.io.stdout(`${store.key}: no history\n`);
        return 0;
      }
    }
    const changes = diffChanges(sides.before, sides.after);
    ctx.io.stdout(`--- ${sides.before.label}\n+++ ${sides.after.label}\n`);
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
