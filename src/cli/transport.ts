import type { Interceptor, Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createConsulKv } from "../adapters/consul/index.js";
import { loadConfig } from "../config/index.js";
import { nodeTlsOptions, schemeOf, type TlsSettings } from "../grpc/tls.js";
import type { CommandIo } from "./io.js";

/**
 * The gRPC transport of the CLI's clients to `address` (`host:port`): plaintext h2 when `tls` is off
 * (as before), else TLS verifying the server with `tls.caFile` (system CAs when ""), presenting
 * `tls.clientCertFile` when set (mutual TLS), checking `tls.serverName` when set.
 */
export function grpcTransportFor(address: string, tls: TlsSettings | undefined, interceptors: Interceptor[] = []): Transport {
  const secure = tls ? nodeTlsOptions(tls, "client") : undefined;
  return createGrpcTransport({
    baseUrl: `${tls ? schemeOf(tls) : "http"}://${address}`,
    interceptors,
    ...(secure ? { nodeOptions: secure } : {}),
  });
}

/** Where a CLI client dials: the query port's `host:port` and the TLS it uses (undefined: plaintext). */
export interface QueryTarget {
  readonly address: string;
  readonly tls: TlsSettings | undefined;
}

/**
 * The query port to dial and its TLS: `explicit` (`--query host:port`) without any `SHOAL__TLS__*`
 * variable dials plaintext without reading the configuration (as before); otherwise the
 * configuration is loaded (files, Consul, environment) for `query.host:query.port` (unless
 * explicit) and `tls`.
 */
export async function queryTarget(io: CommandIo, explicit: string | undefined): Promise<QueryTarget> {
  const tlsFromEnv = Object.keys(io.env).some((k) => k.startsWith("SHOAL__TLS__"));
  if (explicit !== undefined && !tlsFromEnv) return { address: explicit, tls: undefined };
  const cfg = (await loadConfig({ connectKv: createConsulKv, env: io.env, logger: { info: () => {}, warn: () => {}, error: (_f: object, m: string) => io.stderr(`error: ${m}\n`) } })).config;
  return { address: explicit ?? `${cfg.query.host}:${cfg.query.port}`, tls: cfg.tls.enabled ? cfg.tls : undefined };
}
