import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { resolveConfig } from "../config/index.js";
import { localStackDir } from "./local-credentials.js";

/**
 * The credentials `deploy/local/stack.sh` generated for the local stack's NATS, ClickHouse, Redis
 * and Consul (`<stackDir>/credentials.json`, mode 0600), each with the URL(s) the service listens on.
 * Mosquitto's accounts are in their own file (local-credentials.ts). docs/adr/0025-local-stack-credentials.md.
 */
export interface LocalStackCredentials {
  readonly nats: { readonly urls: readonly string[]; readonly user: string; readonly password: string };
  readonly clickhouse: { readonly url: string; readonly username: string; readonly password: string };
  readonly redis: { readonly url: string; readonly password: string };
  readonly consul: { readonly url: string; readonly token: string };
}

const FILE = "credentials.json";

/**
 * Reads the local stack's service credentials; `undefined` when there are none (the stack was
 * never started from `stackDir`, or runs open: SHOAL_STACK_OPEN=1). Throws an Error naming the file,
 * never a value from it, when it is malformed or readable by other users.
 */
export function readLocalStackCredentials(stackDir: string): LocalStackCredentials | undefined {
  const file = join(stackDir, FILE);
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) throw new Error(`${file} is readable by other users: chmod 600 it (it holds the local services' passwords)`);
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let doc: Record<string, Record<string, unknown> | undefined>;
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new Error(`${file}: not JSON`);
  }
  const str = (service: string, field: string): string => {
    const v = doc?.[service]?.[field];
    if (typeof v !== "string" || v === "") throw new Error(`${file}: "${service}" needs a non-empty "${field}"`);
    return v;
  };
  const urls = doc?.nats?.urls;
  if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === "string" && u !== "")) throw new Error(`${file}: "nats" needs "urls", a list of URLs`);
  return {
    nats: { urls: urls as string[], user: str("nats", "user"), password: str("nats", "password") },
    clickhouse: { url: str("clickhouse", "url"), username: str("clickhouse", "username"), password: str("clickhouse", "password") },
    redis: { url: str("redis", "url"), password: str("redis", "password") },
    consul: { url: str("consul", "url"), token: str("consul", "token") },
  };
}

/** The service URLs and credentials of a configuration that decide whether the local ones apply. */
export interface ConfiguredServices {
  readonly nats: { readonly url: string | readonly string[]; readonly user?: string | undefined; readonly token?: string | undefined; readonly nkeySeed?: string | undefined };
  readonly clickhouse: { readonly url: string; readonly password: string };
  readonly redis: { readonly url?: string | undefined; readonly password?: string | undefined };
  readonly consul: { readonly url?: string | undefined; readonly token?: string | undefined };
}

/** `scheme://host:port` of a URL with `localhost` read as 127.0.0.1 and the scheme's default port; undefined when it does not parse. */
function endpointOf(u: string): string | undefined {
  try {
    const p = new URL(u);
    const host = p.hostname === "localhost" ? "127.0.0.1" : p.hostname;
    const port = p.port !== "" ? p.port : ({ "http:": "80", "https:": "443", "nats:": "4222", "redis:": "6379" } as Record<string, string>)[p.protocol] ?? "";
    return `${p.protocol}//${host}:${port}`;
  } catch {
    return undefined;
  }
}

function same(a: string, b: string): boolean {
  const ea = endpointOf(a);
  return ea !== undefined && ea === endpointOf(b);
}

/**
 * `env` plus the local stack's credentials as `SHOAL__*` variables (so `shoal config` shows them as
 * `env:` sources, values redacted), for each service whose configured URL is the local stack's and
 * that has no credentials configured already: nats.user/password (every configured NATS URL is one
 * of the stack's), clickhouse.password, redis.password, consul.token. A service pointed elsewhere,
 * or with its own credentials, is left as configured. `creds` undefined: `env` unchanged.
 */
export function withLocalStackCredentials(env: Readonly<Record<string, string | undefined>>, creds: LocalStackCredentials | undefined, configured: ConfiguredServices): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  if (creds === undefined) return out;
  const set = (key: string, value: string) => {
    if (out[key] === undefined || out[key] === "") out[key] = value;
  };
  const natsUrls = typeof configured.nats.url === "string" ? configured.nats.url.split(",").map((u) => u.trim()) : configured.nats.url;
  const n = configured.nats;
  if (n.user === undefined && n.token === undefined && n.nkeySeed === undefined && natsUrls.length > 0 && natsUrls.every((u) => creds.nats.urls.some((s) => same(u, s)))) {
    set("SHOAL__NATS__USER", creds.nats.user);
    set("SHOAL__NATS__PASSWORD", creds.nats.password);
  }
  if (configured.clickhouse.password === "" && same(configured.clickhouse.url, creds.clickhouse.url)) {
    set("SHOAL__CLICKHOUSE__USERNAME", creds.clickhouse.username);
    set("SHOAL__CLICKHOUSE__PASSWORD", creds.clickhouse.password);
  }
  if (configured.redis.password === undefined && configured.redis.url !== undefined && same(configured.redis.url, creds.redis.url)) set("SHOAL__REDIS__PASSWORD", creds.redis.password);
  if ((configured.consul.token ?? "") === "" && configured.consul.url !== undefined && same(configured.consul.url, creds.consul.url)) set("SHOAL__CONSUL__TOKEN", creds.consul.token);
  return out;
}

/**
 * What every `shoal` command runs with: `env` plus the local stack's service credentials where the
 * configuration (files + environment; Consul cannot move a service's URL at start) points at the
 * local stack. A configuration that does not resolve is left for the command to report.
 */
export function localStackEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const creds = readLocalStackCredentials(localStackDir(env));
  if (creds === undefined) return { ...env };
  let configured: ConfiguredServices;
  try {
    configured = resolveConfig({ env, decrypt: false }).config;
  } catch {
    return { ...env };
  }
  return withLocalStackCredentials(env, creds, configured);
}
