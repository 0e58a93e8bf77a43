import { connect, type NatsConnection } from "@nats-io/transport-node";

/** Connect to NATS with reconnects forever (the server may restart under us). */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5000 });
}

export type { NatsConnection };
