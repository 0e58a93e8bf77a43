import YAML from "yaml";
import { ShoalError } from "../base/errors.js";
import { ConfigError, ENC_PREFIX, SECRET_KEY_ENV, createConfigStore, decryptSecret, envNameOf, isSecretPath, parseSecretKey, resolveConfig } from "../config/index.js";
import type { ConfigIssue, ConfigStore, HistoryEntry, LeafChange, StoredDocument } from "../config/index.js";
import type { KvConnector, KvStore } from "../ports/kv-store.js";
import { documentOf, documentPath, parseValue, redactedChanges, setPath } from "./document.js";

// The operations of `shoal config set|diff|history|rollback` on the Consul document
// `<consul.prefix>/<env>/config.yaml`, shared by the CLI and shoal.v1.ConfigService.

/** Which configuration: the environment, files and Consul as `shoal config` and the roles resolve them. */
export interface ConfigTarget {
  /** The environment (SHOAL_ENV, SHOAL__*, SHOAL_SECRET_KEY, HOSTNAME, SHOAL_CONFIG_DIR); never read from process.env here. */
  readonly env: Record<string, string | undefined>;
  /** Environment name; default: env SHOAL_ENV, else "dev". */
  readonly envName?: string;
  /** Folder with default.yaml and <env>.yaml; default: env SHOAL_CONFIG_DIR, else the repo's config/. */
  readonly configDir?: string;
  /** Opens the KV store at `consul.url` (src/cli wires Consul's createConsulKv). */
  readonly connectKv: KvConnector;
}

/** The resolveConfig/loadConfig options of a target. */
export const resolveOptionsOf = (t: ConfigTarget) => ({
  env: t.env,
  ...(t.envName !== undefined ? { envName: t.envName } : {}),
  ...(t.configDir !== undefined ? { configDir: t.configDir } : {}),
});

/** Validates a whole document as every process would; throws ConfigError listing every issue. */
export type DocumentValidator = (doc: Record<string, unknown>) => void;

/** The Consul document of the target's environment, open until `close()`. */
export interface OpenDocument {
  readonly store: ConfigStore;
  /** The KV connection the store uses (closed by `close()`). */
  readonly kv: KvStore;
  /** The validator of documents stored at `store.key`. */
  readonly validate: DocumentValidator;
  close(): void;
}

/** No such history version of the document at `key`. */
export class ConfigVersionNotFoundError extends ShoalError {
  override readonly name = "ConfigVersionNotFoundError";
  constructor(
    readonly key: string,
    readonly version: number,
  ) {
    super(`${key}: no history version ${version}`, { code: "invalid_input", retryable: false });
  }
}

/** Opens the Consul document of the target's environment; `undefined` when no `consul.url` is configured. */
export function openConfigDocument(t: ConfigTarget): OpenDocument | undefined {
  const base = resolveConfig({ ...resolveOptionsOf(t), decrypt: false });
  const { url, prefix } = base.config.consul;
  if (!url) return undefined;
  const token = consulTokenOf(base.config.consul.token, t.env[SECRET_KEY_ENV]);
  const kv = t.connectKv({ url, ...(token ? { token } : {}) });
  const store = createConfigStore(kv, { prefix, env: envNameOf(resolveOptionsOf(t)).name });
  return { store, kv, validate: documentValidator(t, store.source), close: () => kv.close() };
}

/**
 * `consul.token` as Consul must get it: the document is read without decrypting (its `enc:` values
 * stay as they are), but an `enc:` token is decrypted with SHOAL_SECRET_KEY — sent as is, Consul
 * answered "ACL not found".
 */
function consulTokenOf(token: string | undefined, secretKey: string | undefined): string | undefined {
  if (token === undefined || !token.startsWith(ENC_PREFIX)) return token;
  const rule = (why: string) => new ConfigError([{ path: "consul.token", rule: why }]);
  if (secretKey === undefined || secretKey === "") throw rule(`is an ${ENC_PREFIX} value and ${SECRET_KEY_ENV} is not set`);
  const plain = decryptSecret(token, parseSecretKey(secretKey));
  if (plain === undefined) throw rule(`is an ${ENC_PREFIX} value ${SECRET_KEY_ENV} does not decrypt`);
  return plain;
}

/** Runs `fn` on the open document, closing it after; `notConfigured()` is thrown when there is no Consul. */
export async function withConfigDocument<T>(t: ConfigTarget, notConfigured: () => Error, fn: (d: OpenDocument) => Promise<T>): Promise<T> {
  const d = openConfigDocument(t);
  if (d === undefined) throw notConfigured();
  try {
    return await fn(d);
  } finally {
    d.close();
  }
}

/**
 * Validates a document against the files of the target's environment, as if stored in Consul
 * under `source`. Environment variables are ignored (the running roles have their own); `enc:`
 * values are checked only when SHOAL_SECRET_KEY is available here.
 */
export function documentValidator(t: ConfigTarget, source: string): DocumentValidator {
  return (doc) => {
    const env: Record<string, string | undefined> = { SHOAL_SECRET_KEY: t.env[SECRET_KEY_ENV], HOSTNAME: t.env.HOSTNAME };
    const configDir = t.configDir ?? (t.env.SHOAL_CONFIG_DIR || undefined);
    resolveConfig({
      env,
      envName: envNameOf(resolveOptionsOf(t)).name,
      ...(configDir !== undefined ? { configDir } : {}),
      consulLayer: doc,
      consulSource: source,
      decrypt: t.env[SECRET_KEY_ENV] !== undefined,
    });
  };
}

/** The validator's issues with `doc` (none: valid). Errors other than ConfigError are thrown. */
export function problemsOf(validate: DocumentValidator, doc: Record<string, unknown>): readonly ConfigIssue[] {
  try {
    validate(doc);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
}

/** A new document, planned from the current one and not yet written. */
export interface DocumentEdit {
  /** The document it was planned from (its modifyIndex is the check-and-set condition). */
  readonly current: StoredDocument;
  /** The new document. */
  readonly text: string;
  readonly doc: Record<string, unknown>;
  /** History message when the caller gives none: `set <path>`, `rollback to <n>`. */
  readonly message: string;
  /** Leaf changes from the current document, secrets redacted. */
  readonly changes: readonly LeafChange[];
}

/** What `set <path> <value>` would write; `plainSecret` when it stores a secret unencrypted. */
export interface SetEdit extends DocumentEdit {
  readonly plainSecret: boolean;
}

/**
 * Plans setting `path` (document or resolved path, e.g. `runtime.snapshotEvery[Ms]`) to
 * `valueYaml` (YAML; `null` removes the key). Throws InvalidConfigPathError for a bad path and
 * ConfigError when the current document does not parse.
 */
export async function planSet(store: ConfigStore, path: string, valueYaml: string): Promise<SetEdit> {
  const docPath = documentPath(path);
  const current = await store.read();
  const before = documentOf(current.text, store.source);
  const doc = structuredClone(before);
  const secret = isSecretPath(docPath);
  const value = parseValue(valueYaml, secret);
  setPath(doc, docPath, value);
  const plainSecret = secret && typeof value === "string" && value !== "" && !value.startsWith(ENC_PREFIX);
  const text = YAML.stringify(doc);
  return { current, text, doc, message: `set ${docPath}`, changes: redactedChanges(before, doc), plainSecret };
}

/** Plans writing history version `n` back. Throws ConfigVersionNotFoundError when there is none. */
export async function planRollback(store: ConfigStore, n: number): Promise<DocumentEdit> {
  const entry = (await store.history()).find((h) => h.n === n);
  if (!entry) throw new ConfigVersionNotFoundError(store.key, n);
  const current = await store.read();
  const doc = documentOf(entry.text, store.source);
  return { current, text: entry.text, doc, message: `rollback to ${n}`, changes: redactedChanges(documentOf(current.text, store.source), doc) };
}

/** Writes `edit` if the document has not moved since it was planned (else ConfigConflictError), validated first (else ConfigError). */
export function applyEdit(d: OpenDocument, edit: Pick<DocumentEdit, "current" | "text">, by: { author: string; message: string }): Promise<HistoryEntry> {
  return d.store.write(edit.text, { expectedModifyIndex: edit.current.modifyIndex, author: by.author, message: by.message, validate: d.validate });
}

/** The version of the document: its newest history entry (0: no history). */

/** One side of a diff: a label (`version 3`, the key, a file) and the document text (undefined: none). */
export interface DiffSide {
  readonly label: string;
  readonly text: string | undefined;
}

/**
 * The two documents `diff` compares: `from` and `to` history versions (0: unset). Neither: the
 * last change (`undefined` when there is no history); `from` only: from it to the current
 * document. Throws ConfigVersionNotFoundError for an unknown version.
 */
export async function pickDiff(store: ConfigStore, from: number, to: number): Promise<{ before: DiffSide; after: DiffSide } | undefined> {
  if (from === 0 && to !== 0) throw new RangeError("pickDiff: `to` needs `from`");
  const entries = await store.history();
  const pick = (n: number): DiffSide => {
    const e = entries.find((h) => h.n === n);
    if (!e) throw new ConfigVersionNotFoundError(store.key, n);
    return { label: `version ${e.n}`, text: e.text };
  };
  if (from === 0) {
    if (entries.length === 0) return undefined;
    const last = entries[entries.length - 1]!;
    const prev = entries.length > 1 ? entries[entries.length - 2]! : undefined;
    return { before: { label: prev ? `version ${prev.n}` : "(empty)", text: prev?.text }, after: { label: `version ${last.n}`, text: last.text } };
  }
  const before = pick(from);
  if (to === 0) return { before, after: { label: store.key, text: (await store.read()).text } };
  return { before, after: pick(to) };
}

/** Leaf changes between two diff sides, secrets redacted. */
export const diffChanges = (before: DiffSide, after: DiffSide): readonly LeafChange[] =>
  redactedChanges(documentOf(before.text, before.label), documentOf(after.text, after.label));
