import { connect, type NatsConnection } from "@nats-io/transport-node";

/**
 * Connect to NATS with reconnects forever (the server may restart under us). `noAsyncTraces`: the
 * client otherwise builds two Error objects (stack captured) per request in case it fails — on a
 * restart's snapshot and checkpoint reads that was 12 % of the main thread's CPU.
 */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5000, noAsyncTraces: true });
}

export type { NatsConnection };
