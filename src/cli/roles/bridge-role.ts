import type { MqttClient } from "mqtt";
import type { ShoalConfig } from "../../config/index.js";
import { startTracing } from "../../observability/start-tracing.js";
import type { Tracing } from "../../ports/tracing.js";
import type { Logger } from "../../observability/logger.js";
import { connectNats } from "../../adapters/nats/connection.js";
import { ensureJournal } from "../../adapters/nats/streams.js";
import { JournalPublisher } from "../../adapters/nats/journal-publisher.js";
import { createEventPublisher } from "../../adapters/nats/event-publisher.js";
import { createDeferredAckSubscriber } from "../../adapters/mqtt/deferred-ack-subscriber.js";
import { admissionRejection, createBridgeCore, type BridgeStats } from "../../bridge/bridge.js";
import { startBridgeIdentity } from "./broker-identity.js";
import { startBridgeDownlinkInBackground } from "./device-commands.js";
import type { ServiceAccount } from "../../adapters/mqtt/dynsec.js";
import { sleep, systemClock, withTimeout } from "../../base/clock.js";
import { randomBytes } from "node:crypto";
import type { MetricsRegistry } from "../../ports/metrics.js";
import { stageHistogram } from "../../ports/stages.js";
import type { IncidentReporter } from "../../ports/incidents.js";
import { roleIncidents, startJournalWatch } from "./journal-watch.js";
import { watchBroker } from "../../adapters/mqtt/broker-watch.js";
import { mqttTlsOptions } from "../../adapters/mqtt/tls-options.js";

/** Journal publishes awaiting their PubAck at most (backpressure on the batcher beyond it). */
const PUBLISHES_IN_FLIGHT = 512;

/** Longest the role waits at start for every MQTT connection's first SUBACK before it goes on anyway. */
const SUBSCRIBE_WAIT_MS = 10_000;

/** What a bridge role may be given. */
export interface BridgeRoleDeps {
  readonly metrics?: MetricsRegistry;
  readonly incidents?: IncidentReporter;
  /** The process environment (SHOAL_SECRET_KEY unseals device passwords for the broker sync). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Service accounts to keep on the broker beside the bridge's own (e.g. the local simulator's gateway account). */
  readonly serviceAccounts?: readonly ServiceAccount[];
  /** Where the bridge's spans go. Default: the role's own, from `tracing` (closed with it). */
  readonly tracing?: Tracing;
}

/** A running bridge role. */
export interface BridgeRole {
  readonly stats: BridgeStats;
  /** Readings accepted and not yet durable in the journal. */
  pending(): number;
  /** MQTT connections subscribed now (of `mqtt.connections`): the role is ready when all are. */
  subscribed(): number;
  /** Where this role reports journal incidents (the one given, or its own). */
  readonly incidents: IncidentReporter;
  close(): Promise<void>;
}

/**
 * The MQTT → JetStream bridge: `mqtt.connections` MQTT 5 sessions on the shared subscription
 * `$share/<group>/<topic>` (persistent sessions with stable client ids, so a restarted bridge gets
 * its unacknowledged messages back), each message validated, its readings packed per partition into
 * journal messages published pipelined, and acknowledged to the broker only after the PubAck of
 * every journal message holding one of its readings. Above `bridge.maxInFlight` readings held it
 * stops reading MQTT until they are durable. Before it subscribes, device identity
 * (./broker-identity.ts): the broker's accounts kept in step with the registry when it has the
 * broker's admin, and in registry.mode strict readings of unknown or disabled devices dead-lettered.
 */
export async function startBridgeRole(cfg: ShoalConfig, log: Logger, deps: BridgeRoleDeps = {}): Promise<BridgeRole> {
  const nc = await connectNats(cfg.nats, `shoal-bridge-${cfg.nodeId}`);
  // Device identity first: the broker's accounts (the bridge's own included) before subscribing.
  const identity = await startBridgeIdentity(cfg, log, nc, { env: deps.env ?? process.env, serviceAccounts: deps.serviceAccounts ?? [] });
  const admission = identity.admission;
  const journal = {
    stream: cfg.nats.stream,
    partitions: cfg.nats.partitions,
    duplicateWindowMs: cfg.nats.duplicateWindowMs,
    maxAgeMs: cfg.nats.maxAgeMs,
    maxAckPending: cfg.runtime.maxAckPending,
    replicas: cfg.nats.replicas,
  };
  await ensureJournal(nc, journal);
  // Journal messages awaiting their PubAck at most (each holds up to batchMaxReadings readings).
  const publisher = JournalPublisher.create(nc, PUBLISHES_IN_FLIGHT);
  const events = createEventPublisher(nc);
  // A journal that lost its streams is re-created and reported; a publish unanswered for 10 s too.
  const incidents = deps.incidents ?? roleIncidents(nc, log, "bridge", deps.metrics);
  const watchdog = startJournalWatch(nc, log, incidents, { journal, publishes: () => publisher.backlog() });
  const tracing = deps.tracing ?? (await startTracing(cfg.tracing, "shoal-bridge"));
  const core = createBridgeCore(
    {
      partitions: cfg.nats.partitions,
      limits: {
        maxPayloadBytes: cfg.bridge.maxPayloadBytes,
        maxMetrics: cfg.bridge.maxMetrics,
        maxLogLength: cfg.bridge.maxLogLength,
        maxBatchReadings: cfg.bridge.maxPayloadReadings,
        // The time window of tsMs (docs/input-contract.md): up to maxClockSkew ahead of the bridge's
        // clock, and no older than the readings' retention (0: kept forever, no lower bound).
        maxClockSkewMs: cfg.bridge.maxClockSkewMs,
        maxAgeMs: cfg.clickhouse.retention.keepMs.readings,
      },
      batchWindowMs: cfg.bridge.batchWindowMs,
      batchMaxReadings: cfg.bridge.batchMaxReadings,
      batchMaxBytes: cfg.bridge.batchMaxBytes,
      reorderHoldMs: cfg.bridge.reorderHoldMs,
      reorderHoldMaxMs: cfg.bridge.reorderHoldMaxMs,
      maxHeldReadings: cfg.bridge.maxInFlight,
      // Unique per start: a re-sent publish is deduplicated by JetStream, a new one never is.
      msgIdPrefix: `${cfg.nodeId.replace(/[^A-Za-z0-9_-]/g, "_")}-${randomBytes(6).toString("hex")}`,
      clock: systemClock,
      ...(deps.metrics ? { stages: stageHistogram(deps.metrics) } : {}),
      ...(admission ? { admit: (id: string) => admissionRejection(id, admission.check(id)) } : {}),
      ...(tracing.enabled ? { tracing } : {}),
    },
    (subject, data, msgId, traceparent) => publisher.publish(subject, data, msgId, traceparent === undefined ? undefined : { traceparent }),
    (dl) => events.deadLetter(dl),
  );
  // mqtts:// (mqtt.tls: CA, optional client cert), read once for every connection.
  const mqttTls = mqttTlsOptions(cfg.mqtt.url, cfg.mqtt.tls);
  const receiveMaximum = Math.max(1, Math.min(65535, Math.ceil(cfg.bridge.maxInFlight / cfg.mqtt.connections)));
  const clients: MqttClient[] = [];
  // Connections whose subscription the broker granted (since their last connect): until then the
  // broker does not hand them readings (and a device whose publish matches another subscription — a
  // second share group, a persistent session of an earlier bridge — gets PUBACK 0 for a reading no
  // bridge of this group receives).
  const granted = new Set<number>();
  let allGranted: () => void = () => {};
  const subscribed = new Promise<void>((r) => (allGranted = r)); // mqtt.connections ≥ 1 (schema)
  for (let i = 0; i < cfg.mqtt.connections; i++) {
    const c = createDeferredAckSubscriber(
      {
        url: cfg.mqtt.url,
        clientId: `${cfg.mqtt.sharedGroup}-${cfg.nodeId}-${i}`,
        topic: `$share/${cfg.mqtt.sharedGroup}/${cfg.mqtt.topic}`,
        receiveMaximum,
        username: cfg.mqtt.username,
        password: cfg.mqtt.password,
        tls: mqttTls,
        gate: core,
        onSubscribed: (refused) => {
          if (refused !== undefined) return log.error({ connection: i, topic: cfg.mqtt.topic, err: refused }, "the broker refused the bridge's subscription: this connection receives no readings");
          granted.add(i);
          if (granted.size === cfg.mqtt.connections) allGranted();
        },
      },
      (m) => core.handle(m.topic, m.payload, m, m.traceparent),
    );
    c.on("error", (e) => log.warn({ err: e.message, connection: i }, "mqtt connection error"));
    c.on("connect", (ack) => log.info({ connection: i, sessionPresent: ack.sessionPresent }, "mqtt connected"));
    c.on("close", () => granted.delete(i));
    clients.push(c);
  }
  // The broker's own losses (a restart without persistence, full queues) as incidents.
  const broker = watchBroker({ url: cfg.mqtt.url, clientId: `${cfg.mqtt.sharedGroup}-${cfg.nodeId}-watch`, username: cfg.mqtt.username, password: cfg.mqtt.password, tls: mqttTls }, incidents);
  // Commands to devices: SHOAL_COMMANDS → MQTT devices/<id>/commands, replies → status (docs/adr/0021).
  const downlink = startBridgeDownlinkInBackground(nc, cfg, log);
  // "started" means subscribed: a device may publish from here on. A broker that does not answer
  // in time does not stop the role (the connections go on trying); it is said.
  const inTime = await withTimeout(subscribed, SUBSCRIBE_WAIT_MS, systemClock, "subscribe").then(() => true, () => false);
  if (!inTime) {
    log.warn({ mqtt: cfg.mqtt.url, subscribed: granted.size, connections: cfg.mqtt.connections, waitedMs: SUBSCRIBE_WAIT_MS }, "not every MQTT connection is subscribed yet: readings published now may reach no bridge");
  }
  log.info({ mqtt: cfg.mqtt.url, nats: cfg.nats.url, connections: cfg.mqtt.connections, subscribed: granted.size, partitions: cfg.nats.partitions }, "bridge started");
  return {
    stats: core.stats,
    pending: () => core.held(),
    subscribed: () => granted.size,
    incidents,
    async close() {
      await watchdog.stop();
      await broker.close();
      await downlink.stop();
      // Stop taking messages, publish what is batched and let it become durable (its MQTT acks go
      // out, bounded), then disconnect.
      for (const c of clients) c.options.reconnectPeriod = 0;
      await Promise.race([core.drain(), sleep(10_000)]);
      core.release();
      await Promise.all(clients.map((c) => c.endAsync()));
      publisher.close();
      await identity.close();
      await nc.drain();
      if (deps.tracing === undefined) await tracing.close().catch(() => {});
      log.info({ stats: core.stats }, "bridge stopped");
    },
  };
}
