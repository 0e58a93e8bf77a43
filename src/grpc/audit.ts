import { isMessage, toJson, type DescMessage, type DescMethod, type JsonValue } from "@bufbuild/protobuf";
import { hasUrlCredentials } from "../base/url-credentials.js";
import { Code, ConnectError, createContextKey } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { parse as parseYaml } from "yaml";
import type { Caller } from "../access/index.js";
import { SECRET_KEY_PATTERN, isSecretPath } from "../config/schema.js";
import { ENC_PREFIX, REDACTED } from "../config/secrets.js";
import type { AuditEvent } from "../ports/audit.js";

/**
 * The peer address of a call that arrived over HTTP ("127.0.0.1:53122", the format of grpc-js's
 * `getPeer()`), set by the web server from the socket (never from a header a client could send).
 */
export const PEER = createContextKey<string>("", { description: "shoal peer address" });

/** One finished (or refused) call, as the audit hook sees it. */
export interface AuditedCall {
  /** Fully-qualified service name ("shoal.v1.DeviceService"). */
  readonly service: string;
  readonly method: DescMethod;
  /** The request message (of `method.input`); anything else (a hand-written codec's value) gives no details. */
  readonly request: unknown;
  /** The authenticated caller; undefined when the port checks no access. */
  readonly caller: Caller | undefined;
  /** Peer address ("" when unknown). */
  readonly source: string;
  /** What the call ended with; undefined = ok. */
  readonly error: unknown;
  readonly atMs: number;
}

/**
 * The audit event of a call (src/ports/audit.ts): the one computation every door uses (the gRPC
 * ports through src/grpc/connect-on-grpc.ts, the gateway's through src/grpc/server-access.ts, the
 * HTTP port through src/grpc/access.ts). action = "<service>/<Method>"; target from the request
 * ({@link targetOf}); outcome "ok" or the Connect code name ("permission_denied"); details = the
 * request as JSON with secrets redacted ({@link redactedDetails}).
 */
export function auditEventOf(c: AuditedCall): AuditEvent {
  const message = isMessage(c.request, c.method.input) ? c.request : undefined;
  return {
    atMs: c.atMs,
    actor: c.caller?.name ?? "anonymous",
    actorRole: c.caller?.role ?? "",
    source: c.source,
    action: `${c.service}/${c.method.name}`,
    target: message === undefined ? "" : targetOf(c.service, c.method.input, message),
    outcome: outcomeOf(c.error),
    details: message === undefined ? {} : redactedDetails(c.method.input, message),
  };
}

/** "ok" for undefined, a ConnectError's code name ("invalid_argument"), "internal" for anything else (what the caller is answered). */
export function outcomeOf(error: unknown): string {
  if (error === undefined) return "ok";
  return codeToString(error instanceof ConnectError ? error.code : Code.Internal);
}

/** Request fields naming what a call acts on, in order, with the kind of thing they name (`id`: the service's, see {@link ID_KIND}). */
const TARGET_FIELDS: ReadonlyArray<readonly [field: string, kind: string | undefined]> = [
  ["id", undefined],
  ["device_id", "device"],
  ["alert_id", "alert"],
  ["silence_id", "silence"],
  ["node_id", "node"],
  ["path", "config"],
  ["key", "config"],
  ["index", "worker"],
];

/** What a plain `id` field names, by service (the AlertService's only `id` is a silence's); else the service's name without "Service", lower-cased. */
const ID_KIND: Readonly<Record<string, string>> = { "shoal.v1.DeviceService": "device", "shoal.v1.AlertService": "silence" };

/**
 * What a call acts on: the first present (non-empty string, or any number) of the request's fields
 * `id`, `device_id`, `alert_id`, `silence_id`, `node_id`, `path`, `key`, `index` as "device/<v>",
 * "alert/<v>", "silence/<v>", "node/<v>", "config/<v>", "worker/<v>"; "" when none.
 */
export function targetOf(service: string, desc: DescMessage, message: object): string {
  const values = message as Record<string, unknown>;
  for (const [name, kind] of TARGET_FIELDS) {
    const field = desc.fields.find((f) => f.name === name);
    if (field === undefined || field.fieldKind !== "scalar") continue;
    const v = values[field.localName];
    if (v === undefined || v === "" || typeof v === "boolean") continue;
    const noun = kind ?? ID_KIND[service] ?? (service.split(".").pop() ?? service).replace(/Service$/, "").toLowerCase();
    return `${noun}/${String(v)}`;
  }
  return "";
}

/** Longest string kept in details; longer ones are cut (a 1 MiB request does not become a 1 MiB row). */
const MAX_STRING = 1024;

/**
 * The request as JSON (proto3 JSON names) with nothing secret in it: the value of every key named
 * like a secret (SECRET_KEY_PATTERN of src/config/schema.ts: password, token, credentials, ...),
 * at any depth, and every `enc:` or URL-with-password string become "[redacted]"; a `…Yaml` value
 * (SetConfigKey) is redacted when its `path` names a secret or the YAML holds one (or does not
 * parse); a `…Json` value (a command's payload) is redacted the same way inside (or wholly when it
 * does not parse); a `csv` (ImportDevices: ids and labels by the thousand) is replaced by
 * `csvLines`, its line count; long strings are cut at 1024 characters.
 */
export function redactedDetails(desc: DescMessage, message: object): Readonly<Record<string, unknown>> {
  let json: JsonValue;
  try {
    json = toJson(desc, message as never);
  } catch {
    return { unreadable: true };
  }
  const clean = redactJson(json);
  return clean !== null && typeof clean === "object" && !Array.isArray(clean) ? (clean as Record<string, unknown>) : {};
}

function redactJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redactJson);
  if (v !== null && typeof v === "object") {
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(src)) {
      if (SECRET_KEY_PATTERN.test(k) && x !== "" && x !== null) out[k] = REDACTED;
      else if (k === "csv" && typeof x === "string") out.csvLines = lineCount(x);
      else if (/Yaml$/.test(k) && typeof x === "string") out[k] = yamlHoldsSecret(typeof src.path === "string" ? src.path : "", x) ? REDACTED : cut(x);
      else if (/Json$/.test(k) && typeof x === "string" && x !== "") out[k] = redactJsonText(x);
      else out[k] = redactJson(x);
    }
    return out;
  }
  if (typeof v === "string") return v.startsWith(ENC_PREFIX) || hasUrlCredentials(v) ? REDACTED : cut(v);
  return v;
}

/** True when a config value (YAML text) set at dotted `path` is or holds a secret, or cannot be read to tell. */
function yamlHoldsSecret(path: string, text: string): boolean {
  if (isSecretPath(path)) return true;
  let value: unknown;
  try {
    value = parseYaml(text, { logLevel: "error" });
  } catch {
    return true;
  }
  const holds = (x: unknown): boolean => {
    if (Array.isArray(x)) return x.some(holds);
    if (x !== null && typeof x === "object") return Object.entries(x).some(([k, y]) => (SECRET_KEY_PATTERN.test(k) && y !== "" && y !== null) || holds(y));
    return typeof x === "string" && (x.startsWith(ENC_PREFIX) || hasUrlCredentials(x));
  };
  return holds(value);
}

/** JSON text with its secrets redacted (as JSON text); "[redacted]" when it does not parse. */
function redactJsonText(text: string): string {
  try {
    return cut(JSON.stringify(redactJson(JSON.parse(text))));
  } catch {
    return REDACTED;
  }
}

function lineCount(text: string): number {
  return text.split(/\r?\n/).filter((l) => l.trim() !== "").length;
}

function cut(s: string): string {
  return s.length <= MAX_STRING ? s : `${s.slice(0, MAX_STRING)}…(${s.length - MAX_STRING} more characters)`;
}
