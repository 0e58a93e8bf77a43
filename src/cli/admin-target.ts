import { createConsulKv } from "../adapters/consul/index.js";
import { ConfigError, loadConfig } from "../config/index.js";
import type { TlsSettings } from "../grpc/tls.js";
import type { CommandIo } from "./io.js";

/** Where a CLI reaches a running process's AdminService, and with which TLS settings. */
export interface AdminTarget {
  readonly address: string;
  readonly tls: TlsSettings | undefined;
}

/**
 * The admin address and TLS of `shoal admin` and `shoal cluster status --admin`: `--admin host:port`
 * alone dials plaintext without reading the configuration; without it, or with a `SHOAL__TLS__*`
 * variable set, the configuration is read (`admin.host:admin.port` when no address was given, `tls`
 * when enabled). A configuration error is printed and answered with exit code 1.
 */
export async function adminTargetOf(io: CommandIo, explicit: string | undefined): Promise<AdminTarget | number> {
  if (explicit !== undefined && !Object.keys(io.env).some((k) => k.startsWith("SHOAL__TLS__"))) return { address: explicit, tls: undefined };
  try {
    const cfg = (await loadConfig({ connectKv: createConsulKv, env: io.env, logger: { info: () => {}, warn: () => {}, error: (_f: object, m: string) => io.stderr(`error: ${m}\n`) } })).config;
    return { address: explicit ?? `${cfg.admin.host}:${cfg.admin.port}`, tls: cfg.tls.enabled ? cfg.tls : undefined };
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
