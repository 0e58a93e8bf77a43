import { readFileSync } from "node:fs";
import type { SecureContextOptions } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { ShoalError } from "../base/errors.js";

/**
 * TLS of Shoal's gRPC servers and clients from the `tls` config section (src/config/schema-tls.ts),
 * structurally: this folder does not depend on src/config. File fields are PEM paths.
 */
export interface TlsSettings {
  readonly enabled: boolean;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly requireClientCert: boolean;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly serverName: string;
}

/** Reads one PEM file; a missing or unreadable one is a config_invalid error naming the path (never the contents). */
function readPem(path: string, what: string): Buffer {
  if (path === "") throw new ShoalError(`tls.${what} is required when tls.enabled is true`, { code: "config_invalid" });
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ShoalError(`tls.${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? "error"}`, { code: "config_invalid", cause: e });
  }
}

const optionalPem = (path: string, what: string): Buffer | undefined => (path === "" ? undefined : readPem(path, what));

/**
 * grpc-js server credentials: insecure (plaintext h2) when TLS is off, else the server's cert and
 * key, verifying client certificates against `caFile` when `requireClientCert` (mutual TLS).
 */
export function serverCredentials(tls: TlsSettings): grpc.ServerCredentials {
  if (!tls.enabled) return grpc.ServerCredentials.createInsecure();
  const cert = readPem(tls.certFile, "certFile");
  const key = readPem(tls.keyFile, "keyFile");
  const ca = tls.requireClientCert ? readPem(tls.caFile, "caFile") : optionalPem(tls.caFile, "caFile");
  return grpc.ServerCredentials.createSsl(ca ?? null, [{ cert_chain: cert, private_key: key }], tls.requireClientCert);
}

/** The client cert/key pair Shoal's clients present, when configured (both or neither). */
function clientPair(tls: TlsSettings): { cert: Buffer; key: Buffer } | undefined {
  if (tls.clientCertFile === "" && tls.clientKeyFile === "") return undefined;
  return { cert: readPem(tls.clientCertFile, "clientCertFile"), key: readPem(tls.clientKeyFile, "clientKeyFile") };
}

/** grpc-js channel credentials: insecure when TLS is off, else TLS verifying with `caFile` (or system CAs), presenting the client cert when set. */
export function channelCredentials(tls: TlsSettings): grpc.ChannelCredentials {
  if (!tls.enabled) return grpc.credentials.createInsecure();
  const ca = optionalPem(tls.caFile, "caFile");
  const pair = clientPair(tls);
  return grpc.credentials.createSsl(ca ?? null, pair?.key ?? null, pair?.cert ?? null);
}

/** grpc-js channel options carrying `serverName` (the name the server certificate is checked against), if any. */
export function channelOptions(tls: TlsSettings): grpc.ChannelOptions {
  return tls.enabled && tls.serverName !== "" ? { "grpc.ssl_target_name_override": tls.serverName, "grpc.default_authority": tls.serverName } : {};
}

/**
 * Node TLS options for https/http2 servers (cert, key, ca, requestCert/rejectUnauthorized for mTLS)
 * and for connect-node client transports (ca, client cert, servername); undefined when TLS is off.
 */
export function nodeTlsOptions(tls: TlsSettings, side: "server" | "client"): (SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean; servername?: string }) | undefined {
  if (!tls.enabled) return undefined;
  const ca = optionalPem(tls.caFile, "caFile");
  if (side === "server") {
    const o = { cert: readPem(tls.certFile, "certFile"), key: readPem(tls.keyFile, "keyFile"), ...(ca ? { ca } : {}) };
    return tls.requireClientCert ? { ...o, ca: readPem(tls.caFile, "caFile"), requestCert: true, rejectUnauthorized: true } : o;
  }
  const pair = clientPair(tls);
  return { ...(ca ? { ca } : {}), ...(pair ?? {}), ...(tls.serverName !== "" ? { servername: tls.serverName } : {}) };
}

/** URL scheme of Shoal's HTTP ports under `tls`: "https" when on, else "http". */
export function schemeOf(tls: TlsSettings): "http" | "https" {
  return tls.enabled ? "https" : "http";
}
