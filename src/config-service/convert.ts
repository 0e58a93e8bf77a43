import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConfigIssue, HistoryEntry, LeafChange } from "../config/index.js";
import { ConfigProblemSchema } from "../gen/shoal/v1/config_pb.js";
import type { ConfigChangeSchema, ConfigVersionSchema, EffectiveConfigSchema } from "../gen/shoal/v1/config_pb.js";
import { effectiveEntries } from "./effective.js";
import type { EffectiveView } from "./effective.js";

// Domain values of src/config and ./edits.ts as shoal.v1 config messages, and request checks.

/** A validator issue as a ConfigProblem: path "" for the document, message as `shoal config set` prints it after the path. */
export const problemOf = (i: ConfigIssue): MessageInitShape<typeof ConfigProblemSchema> => ({
  path: i.path === "(root)" ? "" : i.path,
  message: `${i.rule}${i.source ? ` (from ${i.source})` : ""}`,
});

/** A leaf change as JSON text ("" for the missing side); values were redacted by ./document.ts. */
export const changeOf = (c: LeafChange): MessageInitShape<typeof ConfigChangeSchema> => ({
  path: c.path,
  beforeJson: c.before === undefined ? "" : JSON.stringify(c.before),
  afterJson: c.after === undefined ? "" : JSON.stringify(c.after),
});

/** A history entry as a ConfigVersion (the document text stays on the server). */
export const versionEntryOf = (h: HistoryEntry): MessageInitShape<typeof ConfigVersionSchema> => {
  const atMs = Date.parse(h.at);
  return { version: BigInt(h.n), atMs: BigInt(Number.isFinite(atMs) ? atMs : 0), author: h.author, message: h.message };
};

/** The effective configuration message of a view of environment `env`. */
export const effectiveConfigOf = (v: EffectiveView): MessageInitShape<typeof EffectiveConfigSchema> => ({
  version: BigInt(v.version),
  env: v.resolved.config.env,
  entries: effectiveEntries(v.resolved),
  writable: v.writable,
});

/**
 * INVALID_ARGUMENT for a change the validator refused: the message is the one `shoal config set`
 * prints (value-free by ConfigError's contract), every issue also as a ConfigProblem detail.
 */
export function invalidChange(issues: readonly ConfigIssue[], message: string): ConnectError {
  const details = issues.map((i) => ({ desc: ConfigProblemSchema, value: create(ConfigProblemSchema, problemOf(i)) }));
  return new ConnectError(message, Code.InvalidArgument, undefined, details);
}

/** INVALID_ARGUMENT naming the request field and the rule. */
export const invalid = (field: string, rule: string): ConnectError => new ConnectError(`${field}: ${rule}`, Code.InvalidArgument);

const MAX_PATH = 256;
const MAX_VALUE = 64 * 1024;
const MAX_MESSAGE = 500;

/** A key's dotted path: required, at most 256 characters (its form is checked by ./document.ts). */
export function keyPath(path: string): string {
  const p = path.trim();
  if (p === "") throw invalid("path", "required (a dotted key such as detector.threshold)");
  if (p.length > MAX_PATH) throw invalid("path", `at most ${MAX_PATH} characters`);
  return p;
}

/** A value as YAML: required ("null" removes the key), at most 64 KiB. */
export function valueYaml(v: string): string {
  if (v.trim() === "") throw invalid("value_yaml", 'required (YAML; "null" removes the key)');
  if (Buffer.byteLength(v) > MAX_VALUE) throw invalid("value_yaml", `at most ${MAX_VALUE} bytes`);
  return v;
}

/** A history message: optional, at most 500 characters. */
export function historyMessage(m: string): string {
  if (m.length > MAX_MESSAGE) throw invalid("message", `at most ${MAX_MESSAGE} characters`);
  return m.trim();
}

/** A history version as a number; `required` refuses 0. */
export function historyVersion(v: bigint, field: string, required: boolean): number {
  if (v === 0n && required) throw invalid(field, "required (a version from ListConfigHistory)");
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(field, "not a version of this document");
  return Number(v);
}
