import { z } from "zod";

/**
 * `tls`: TLS (and optional mutual TLS) of every gRPC server and client of Shoal (query, admin,
 * gateway, console ports and the CLI/internal clients). Files are PEM paths, never the keys
 * themselves (so no secret sits in the config or its logs); they are read once at start by
 * src/grpc/tls.ts. Off by default: `npm start` stays zero-config on loopback.
 */
export const tlsSchema = z.strictObject({
  /** Serve and dial TLS. Default false (plaintext h2 / HTTP). */
  enabled: z.boolean().default(false),
  /** The servers' certificate chain (PEM path). Required when enabled. */
  certFile: z.string().default(""),
  /** The servers' private key (PEM path). Required when enabled. */
  keyFile: z.string().default(""),
  /** CA bundle (PEM path) that verifies peers: servers verify client certs, clients verify servers. "" = system CAs. */
  caFile: z.string().default(""),
  /** Mutual TLS: servers refuse clients without a certificate signed by `caFile`. Default false. */
  requireClientCert: z.boolean().default(false),
  /** Certificate (PEM path) Shoal's own clients present to servers requiring client certs. "" = none. */
  clientCertFile: z.string().default(""),
  /** Private key (PEM path) of `clientCertFile`. */
  clientKeyFile: z.string().default(""),
  /** Name the server certificate is verified against instead of the dialled host. "" = the host. */
  serverName: z.string().default(""),
});

/** The resolved `tls` section. */
export type TlsConfig = z.output<typeof tlsSchema>;
