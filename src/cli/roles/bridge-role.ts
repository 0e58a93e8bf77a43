import type { MqttClient } from "mqtt";
import type { ShoalConfig } from "../../config/index.js";
import type { Logger } from "../../observability/logger.js";
import { connectNats } from "../../adapters/nats/connection.js";
import { ensureJournal } from "../../adapters/nats/streams.js";
import { JournalPublisher } from "../../adapters/nats/journal-publisher.js";
import { createEventPublisher } from "../../adapters/nats/event-publisher.js";
import { createDeferredAckSubscriber } from "../../adapters/mqtt/deferred-ack-subscriber.js";
import { createBridgeCore, type BridgeStats } from "../../bridge/bridge.js";

/** A running bridge role. */
export interface BridgeRole {
  readonly stats: BridgeStats;
  /** Publishes awaiting their PubAck. */
  pending(): number;
  close(): Promise<void>;
}

/**
 * The MQTT → JetStream bridge: `mqtt.connections` MQTT 5 sessions on the shared subscription
 * `$share/<group>/<topic>` (persistent sessions with stable client ids, so a restarted bridge gets
 * its unacknowledged messages back), each message validated and published pipelined to the journal,
 * and acknowledged to the broker only after JetStream's PubAck.
 */
export async function startBridgeRole(cfg: ShoalConfig, log: Logger): Promise<BridgeRole> {
  const nc = await connectNats(cfg.nats.url, `shoal-bridge-${cfg.nodeId}`);
  await ensureJournal(nc, {
    stream: cfg.nats.stream,
    partitions: cfg.nats.partitions,
    duplicateWindowMs: cfg.nats.duplicateWindowMs,
    maxAgeMs: cfg.nats.maxAgeMs,
    maxAckPending: cfg.runtime.maxAckPending,
  });
  const publisher = JournalPublisher.create(nc, cfg.bridge.maxInFlight);
  const events = createEventPublisher(nc);
  const core = createBridgeCore(
    { partitions: cfg.nats.partitions, limits: { maxPayloadBytes: cfg.bridge.maxPayloadBytes, maxMetrics: cfg.bridge.maxMetrics, maxLogLength: cfg.bridge.maxLogLength } },
    (subject, data, msgId) => publisher.publish(subject, data, msgId),
    (dl) => events.deadLetter(dl),
  );
  const receiveMaximum = Math.max(1, Math.min(65535, Math.ceil(cfg.bridge.maxInFlight / cfg.mqtt.connections)));
  const clients: MqttClient[] = [];
  for (let i = 0; i < cfg.mqtt.connections; i++) {
    const c = createDeferredAckSubscriber(
      {
        url: cfg.mqtt.url,
        clientId: `${cfg.mqtt.sharedGroup}-${cfg.nodeId}-${i}`,
        topic: `$share/${cfg.mqtt.sharedGroup}/${cfg.mqtt.topic}`,
        receiveMaximum,
        username: cfg.mqtt.username,
        password: cfg.mqtt.password,
      },
      (m) => void core.handle(m.topic, m.payload, m.ack),
    );
    c.on("error", (e) => log.warn({ err: e.message, connection: i }, "mqtt connection error"));
    c.on("connect", (ack) => log.info({ connection: i, sessionPresent: ack.sessionPresent }, "mqtt connected"));
    clients.push(c);
  }
  log.info({ mqtt: cfg.mqtt.url, nats: cfg.nats.url, connections: cfg.mqtt.connections, partitions: cfg.nats.partitions }, "bridge started");
  return {
    stats: core.stats,
    pending: () => publisher.pendingCount,
    async close() {
      // Stop taking messages, let in-flight publishes finish (their MQTT acks go out), then disconnect.
      for (const c of clients) c.options.reconnectPeriod = 0;
      const deadline = Date.now() + 10_000;
      while (publisher.pendingCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await Promise.all(clients.map((c) => c.endAsync()));
      publisher.close();
      await nc.drain();
      log.info({ stats: core.stats }, "bridge stopped");
    },
  };
}
