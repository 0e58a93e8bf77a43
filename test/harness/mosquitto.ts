import { pbkdf2Sync, randomBytes } from "node:crypto";
import { accessSync, constants, existsSync, readdirSync } from "node:fs";
import { appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { findBinary } from "./binaries.js";
import { ServiceMissingError } from "./errors.js";
import { freePort } from "./free-port.js";
import { ManagedService } from "./managed-service.js";
import type { ServiceHandle, StartupTiming } from "./managed-service.js";
import { mqttConnack } from "./probes.js";
import { renderTemplate } from "./templates.js";

/** Options of {@link startMosquitto}. */
export interface MosquittoOptions {
  /**
   * No anonymous clients: accounts and topic ACLs in Mosquitto's dynamic security plugin, whose
   * only account at start is the admin returned as `admin` (drive it with
   * src/adapters/mqtt/dynsec.ts). Default false: anonymous clients may do anything.
   */
  readonly secure?: boolean;
  /**
   * A second listener with TLS on its own random loopback port (`tlsPort`, URL `tlsUrl`), next to
   * the plaintext one: the same accounts and ACLs (per_listener_settings false, so allow_anonymous
   * and the plugin are global), its own certificate (see {@link mosquittoTlsListener}).
   */
  readonly tls?: MosquittoTlsOptions;
}

/** The TLS listener of {@link startMosquitto}: PEM paths (src/adapters/pki/local-pki.ts makes local ones). */
export interface MosquittoTlsOptions {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Mutual TLS: refuse clients without a certificate signed by `caFile`. Default false. */
  readonly requireCertificate?: boolean;
}

/**
 * Mosquitto config lines of a TLS listener on 127.0.0.1:`port`, appended after the rendered
 * template (deploy/local/templates/mosquitto.conf): a `listener` line starts a new listener and the
 * TLS options after it are its own. With per_listener_settings false (the template's), who may
 * connect (allow_anonymous, the dynamic-security plugin) is global: the same for both listeners.
 * `use_identity_as_username` stays off: a device still logs in with its registry credentials,
 * the certificate only proves the connection (mutual TLS).
 */
export function mosquittoTlsListener(port: number, t: MosquittoTlsOptions): string {
  return ["", "# TLS listener (test/harness/mosquitto.ts)", `listener ${port} 127.0.0.1`, `cafile ${t.caFile}`, `certfile ${t.certFile}`, `keyfile ${t.keyFile}`, `require_certificate ${t.requireCertificate === true ? "true" : "false"}`, "tls_version tlsv1.2", ""].join("\n");
}

/** The dynamic-security admin of a secure broker (generated per start). */
export interface MosquittoAdmin {
  readonly username: string;
  readonly password: string;
}

/** Where a broker started with `tls` takes TLS connections. */
export interface MosquittoTlsEndpoint {
  readonly tlsPort: number;
  /** `mqtts://127.0.0.1:<tlsPort>` (the server certificate must name 127.0.0.1). */
  readonly tlsUrl: string;
}

/** Username of the dynamic-security admin (the same as the local stack's). */
export const DYNSEC_ADMIN = "shoal-admin";

/**
 * Starts Mosquitto 2.0 on a random loopback port from deploy/local/templates/mosquitto.conf
 * (persistence in its data dir, max_queued_messages 100000): anonymous by default; with
 * `{ secure: true }` anonymous clients are refused and the dynamic security plugin holds the
 * accounts, starting with a generated admin (`admin`). Healthy when an MQTT CONNECT (as the admin
 * when secure) gets a CONNACK with return code 0.
 */
export async function startMosquitto(): Promise<ServiceHandle & StartupTiming>;
export async function startMosquitto(o: { secure: true; tls: MosquittoTlsOptions }): Promise<ServiceHandle & StartupTiming & { readonly admin: MosquittoAdmin } & MosquittoTlsEndpoint>;
export async function startMosquitto(o: { secure: true }): Promise<ServiceHandle & StartupTiming & { readonly admin: MosquittoAdmin }>;
export async function startMosquitto(o?: MosquittoOptions): Promise<ServiceHandle & StartupTiming & { readonly admin?: MosquittoAdmin } & Partial<MosquittoTlsEndpoint>>;
export async function startMosquitto(o: MosquittoOptions = {}): Promise<ServiceHandle & StartupTiming & { readonly admin?: MosquittoAdmin } & Partial<MosquittoTlsEndpoint>> {
  const binary = findBinary("mosquitto");
  const plugin = o.secure ? findDynsecPlugin() : undefined;
  const admin: MosquittoAdmin | undefined = o.secure ? { username: DYNSEC_ADMIN, password: randomBytes(24).toString("base64url") } : undefined;
  let port = 0;
  let tlsPort = 0;
  const service = await ManagedService.start({
    name: "mosquitto",
    startTimeoutMs: 30_000,
    async configure(dataDir) {
      port = await freePort();
      const config = join(dataDir, "mosquitto.conf");
      let auth = "allow_anonymous true";
      if (plugin !== undefined && admin !== undefined) {
        const dynsec = join(dataDir, "dynamic-security.json");
        if (!existsSync(dynsec)) await writeFile(dynsec, JSON.stringify(dynsecInitialConfig(admin.username, admin.password), null, 2), { mode: 0o600 });
        auth = ["allow_anonymous false", `plugin ${plugin}`, `plugin_opt_config_file ${dynsec}`].join("\n");
      }
      await renderTemplate("mosquitto.conf", config, { PORT: port, DATA_DIR: dataDir, AUTH: auth });
      if (o.tls !== undefined) {
        tlsPort = await freePort();
        await appendFile(config, mosquittoTlsListener(tlsPort, o.tls));
      }
      const log = join(dataDir, "mosquitto.log");
      const p = port;
      return { binary, args: ["-c", config], stdioLog: log, logFile: log, ports: tlsPort === 0 ? [port] : [port, tlsPort], healthy: () => mqttConnack(p, admin) };
    },
  });
  const tls = o.tls === undefined ? {} : { tlsPort, tlsUrl: `mqtts://127.0.0.1:${tlsPort}` };
  return service.handle(`mqtt://127.0.0.1:${port}`, port, { ...(admin ? { admin } : {}), ...tls });
}

/**
 * Path of Mosquitto's dynamic security plugin: `$SHOAL_MOSQUITTO_DYNSEC`, else where Debian's
 * mosquitto package puts it (/usr/lib/<triplet>/), else /usr/lib or /usr/local/lib.
 * @throws ServiceMissingError when there is none.
 */
export function findDynsecPlugin(env: NodeJS.ProcessEnv = process.env): string {
  const name = "mosquitto_dynamic_security.so";
  const forced = env.SHOAL_MOSQUITTO_DYNSEC;
  const readable = (p: string): boolean => {
    try {
      accessSync(p, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (forced !== undefined && forced !== "") {
    if (readable(forced)) return forced;
    throw new ServiceMissingError(name, `SHOAL_MOSQUITTO_DYNSEC=${forced} is not readable`);
  }
  const triplets = (() => {
    try {
      return readdirSync("/usr/lib").filter((d) => /-linux-gnu/.test(d));
    } catch {
      return [];
    }
  })();
  for (const p of [...triplets.map((t) => `/usr/lib/${t}/${name}`), `/usr/lib/${name}`, `/usr/local/lib/${name}`]) if (readable(p)) return p;
  throw new ServiceMissingError(name, "Mosquitto's dynamic security plugin is not installed (Debian: package mosquitto)");
}

/**
 * The plugin's initial configuration with one admin, as `mosquitto_ctrl dynsec init <file> <admin>`
 * (2.0.11) writes it: the admin role may use `$CONTROL/dynamic-security/#` and read `$SYS/#` (and
 * subscribe to anything, publish nothing else); the password as PBKDF2-SHA512, 101 iterations, a
 * 12-byte salt, both base64. Default access: no publishing, no subscribing.
 */
export function dynsecInitialConfig(username: string, password: string): object {
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(password, salt, 101, 64, "sha512");
  const allow = (acltype: string, topic: string) => ({ acltype, topic, allow: true });
  return {
    clients: [{ username, textname: "Dynsec admin user", password: hash.toString("base64"), salt: salt.toString("base64"), iterations: 101, roles: [{ rolename: "admin" }] }],
    roles: [
      {
        rolename: "admin",
        acls: [
          allow("publishClientSend", "$CONTROL/dynamic-security/#"),
          allow("publishClientReceive", "$CONTROL/dynamic-security/#"),
          allow("subscribePattern", "$CONTROL/dynamic-security/#"),
          allow("publishClientReceive", "$SYS/#"),
          allow("subscribePattern", "$SYS/#"),
          allow("publishClientReceive", "#"),
          allow("subscribePattern", "#"),
          allow("unsubscribePattern", "#"),
        ],
      },
    ],
    defaultACLAccess: { publishClientSend: false, publishClientReceive: true, subscribe: false, unsubscribe: true },
  };
}
