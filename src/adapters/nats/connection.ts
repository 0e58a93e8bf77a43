import { AuthorizationError, connect, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { ShoalError } from "../../base/errors.js";
import { redactUrlPasswords } from "../../base/url-credentials.js";

/**
 * The servers of `url`: a comma-separated list (what `nats.url` holds) or an array, each entry
 * trimmed. The client takes a string as a single server, so a list must be split here or every
 * node but the first would be unknown until the cluster gossips it (and unreachable if the first
 * is down at start).
 */
export function natsServers(url: string | readonly string[]): string[] {
  const list = typeof url === "string" ? url.split(",") : url.flatMap((u) => u.split(","));
  return list.map((u) => u.trim()).filter((u) => u !== "");
}

/** Where and as whom to connect: `nats.url` and, when the servers require them, one kind of credentials. */
export interface NatsTarget {
  readonly url: string | readonly string[];
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly token?: string | undefined;
  /** The user's nkey seed (`SU…`): the client signs the server's nonce with it. */
  readonly nkeySeed?: string | undefined;
}

/** The client's authentication options for `t` (none when it has no credentials). */
export function natsAuth(t: NatsTarget): Pick<ConnectionOptions, "user" | "pass" | "token" | "authenticator"> {
  if (t.nkeySeed !== undefined) return { authenticator: nkeyAuthenticator(new TextEncoder().encode(t.nkeySeed)) };
  if (t.token !== undefined) return { token: t.token };
  if (t.user !== undefined) return { user: t.user, pass: t.password ?? "" };
  return {};
}

/**
 * Connect to NATS with reconnects forever (the server may restart under us, or a cluster node may
 * go: the client moves to another one). `target` is `nats.url` alone or the whole `nats` config
 * (credentials included). `noAsyncTraces`: the client otherwise builds two Error objects (stack
 * captured) per request in case it fails — on a restart's snapshot and checkpoint reads that was
 * 12 % of the main thread's CPU.
 */
export async function connectNats(target: string | readonly string[] | NatsTarget, name: string): Promise<NatsConnection> {
  const t: NatsTarget = typeof target === "string" || Array.isArray(target) ? { url: target as string | readonly string[] } : (target as NatsTarget);
  const servers = natsServers(t.url);
  try {
    return await connect({ servers, name, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5000, noAsyncTraces: true, ...natsAuth(t) });
  } catch (e) {
    if (!(e instanceof AuthorizationError)) throw e;
    const kind = t.nkeySeed !== undefined ? "nats.nkeySeed" : t.token !== undefined ? "nats.token" : t.user !== undefined ? "nats.user/password" : "none configured (nats.user/password, nats.token or nats.nkeySeed)";
    throw new ShoalError(`NATS at ${redactUrlPasswords(servers.join(","), "***")} refused the credentials (${kind}): ${e.message}`, { code: "unauthenticated", retryable: false, cause: e });
  }
}

export type { NatsConnection };
