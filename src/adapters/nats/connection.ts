import { connect, type NatsConnection } from "@nats-io/transport-node";

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

/**
 * Connect to NATS with reconnects forever (the server may restart under us, or a cluster node may
 * go: the client moves to another one). `noAsyncTraces`: the client otherwise builds two Error
 * objects (stack captured) per request in case it fails — on a restart's snapshot and checkpoint
 * reads that was 12 % of the main thread's CPU.
 */
export async function connectNats(url: string | readonly string[], name: string): Promise<NatsConnection> {
  return connect({ servers: natsServers(url), name, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5000, noAsyncTraces: true });
}

export type { NatsConnection };
