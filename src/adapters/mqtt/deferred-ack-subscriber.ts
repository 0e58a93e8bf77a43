import mqtt, { type ISubscriptionMap, type MqttClient } from "mqtt";
import type { MqttTlsConnectOptions } from "./tls-options.js";

/** An MQTT QoS 1 message whose PUBACK is sent only when `ack()` is called. */
export interface InboundMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  /** The MQTT 5 user property `traceparent` the publisher sent (W3C trace context), if any. */
  readonly traceparent?: string;
  /** Send the PUBACK (once the message is durable downstream). No-op if the connection was lost. */
  ack(): void;
}

export interface SubscriberOptions {
  readonly url: string;
  /** Stable client id: with clean=false the broker keeps our session (and unacked messages) across restarts. */
  readonly clientId: string;
  /** Topic filter, e.g. `$share/shoal-bridge/devices/+/readings`. */
  readonly topic: string;
  /** MQTT 5 Receive Maximum: unacked messages the broker may have in flight to us (backpressure). */
  readonly receiveMaximum: number;
  /** MQTT keepalive in seconds. Default 30. */
  readonly keepaliveSec?: number;
  /** Session expiry in seconds (how long the broker keeps our queue while we are away). Default 86400. */
  readonly sessionExpirySec?: number;
  readonly username?: string;
  readonly password?: string;
  /** TLS of an `mqtts://` URL (CA, client cert): {@link mqttTlsOptions} of `mqtt.tls`. */
  readonly tls?: MqttTlsConnectOptions | Record<string, never>;
  /**
   * Backpressure: while `admitted()` is false the next packet is not read (mqtt.js handles inbound
   * packets one at a time and reads the socket on only after each one's callback), so what the
   * broker sends waits in its queue and in TCP, not in this process. Mosquitto keeps sending past
   * MQTT 5 Receive Maximum once a window was acknowledged; this bound does not depend on it.
   */
  readonly gate?: { admitted(): boolean; whenAdmitted(): Promise<void> };
  /**
   * Called on each SUBACK (after every connect): `refused` is the broker's reason when it did not
   * grant the subscription (e.g. "Not authorized"), undefined when it did. Until the first grant,
   * publishes to the topic are not delivered to this subscriber.
   */
  readonly onSubscribed?: (refused?: string) => void;
}

/**
 * MQTT 5 subscriber that acknowledges QoS 1 messages only when told to, without serialising them.
 *
 * mqtt.js processes inbound publishes one at a time and sends the PUBACK as soon as `handleMessage`
 * calls back. Deferring that callback would serialise the stream (one JetStream round trip per
 * message). Instead we call back at once and hold the PUBACK packet itself until `ack()`: the wrapper
 * of mqtt.js's packet writer (pinned mqtt 5.16.0) swallows the automatic PUBACK of held message ids.
 * A connection epoch guards against acking a message id of a previous connection on a new one.
 */
export function createDeferredAckSubscriber(o: SubscriberOptions, onMessage: (m: InboundMessage) => void): MqttClient {
  const client = mqtt.connect(o.url, {
    clientId: o.clientId,
    protocolVersion: 5,
    clean: false,
    keepalive: o.keepaliveSec ?? 30,
    // Short: until it is back, devices publishing to a restarted broker get PUBACK 0x10 (no
    // matching subscribers) and must send again (docs/input-contract.md).
    reconnectPeriod: 100,
    connectTimeout: 10_000,
    username: o.username,
    password: o.password,
    ...o.tls,
    // mqtt.js builds a debug() log line per packet even when logging is off: a few % of a busy bridge.
    log: () => {},
    properties: { sessionExpiryInterval: o.sessionExpirySec ?? 86_400, receiveMaximum: o.receiveMaximum },
  });
  type Send = (packet: { cmd: string; messageId?: number; reasonCode?: number }, cb?: () => void, ...rest: unknown[]) => void;
  const internals = client as unknown as { _sendPacket: Send; handleMessage: (packet: PublishPacket, cb: (err?: Error) => void) => void };
  const send = internals._sendPacket.bind(client);
  let epoch = 0;
  // PUBACKs are released many at once (every MQTT message of a journal batch): cork the socket
  // for the rest of the tick so they leave in one write instead of a system call each.
  let corked: { uncork(): void } | null = null;
  const sendAck = (messageId: number): void => {
    if (corked === null) {
      const stream = (client as unknown as { stream?: { cork(): void; uncork(): void; writable?: boolean } }).stream;
      if (stream?.writable) {
        stream.cork();
        corked = stream;
        process.nextTick(() => {
          corked = null;
          stream.uncork();
        });
      }
    }
    send({ cmd: "puback", messageId, reasonCode: 0 });
  };
  // messageId -> "held": PUBACK swallowed, waiting for ack(); "acked": ack() came before the swallow.
  const held = new Map<number, "pending" | "held" | "acked">();

  internals._sendPacket = (packet, cb, ...rest) => {
    if (packet.cmd === "puback" && packet.messageId !== undefined) {
      const st = held.get(packet.messageId);
      if (st === "pending") {
        held.set(packet.messageId, "held");
        cb?.();
        return;
      }
      if (st === "acked") held.delete(packet.messageId);
    }
    send(packet, cb, ...rest);
  };

  // Per message: one object and no closures (a closure per message was a measurable share of a busy bridge).
  const conn: AckTarget = {
    ack(id, myEpoch) {
      if (myEpoch !== epoch) return; // connection lost: the broker will redeliver; JetStream dedups.
      const st = held.get(id);
      if (st === "held") {
        held.delete(id);
        sendAck(id);
      } else if (st === "pending") {
        held.set(id, "acked");
      }
    },
  };
  // Any publish from the broker shows the connection is alive, but mqtt.js counts only acks and
  // PINGRESP toward its keepalive, and a subscriber receives no acks. While the gate holds the
  // socket unread, the PINGRESP waits behind the publishes queued ahead of it: when working through
  // them takes longer than half the keepalive, mqtt.js dropped a live connection ("Keepalive
  // timeout") and the broker sent every unacknowledged message again. So each second in which
  // publishes arrived counts as a reply (a counter per message, a timer once a second); a
  // connection that delivers nothing for a whole keepalive still pings and times out as before.
  // (mqtt.js checks every half keepalive and pings at the second check: a quarter beats it.)
  let arrived = 0;
  const liveness = setInterval(() => {
    if (arrived === 0) return;
    arrived = 0;
    if (client.connected) client.reschedulePing(true);
  }, Math.min(1000, (o.keepaliveSec ?? 30) * 250));
  liveness.unref();
  client.on("end", () => clearInterval(liveness));
  internals.handleMessage = (packet, cb) => {
    arrived++;
    if (packet.qos !== 1 || packet.messageId === undefined) {
      onMessage(new Inbound(packet.topic, packet.payload, -1, -1, NO_ACK, traceparentOf(packet)));
    } else {
      held.set(packet.messageId, "pending");
      onMessage(new Inbound(packet.topic, packet.payload, packet.messageId, epoch, conn, traceparentOf(packet)));
    }
    if (o.gate === undefined || o.gate.admitted()) cb();
    else void o.gate.whenAdmitted().then(() => cb());
  };

  client.on("close", () => {
    epoch++;
    held.clear();
  });
  client.on("connect", () => {
    // Subscribe on every connect: Mosquitto 2.0 restores a persisted session's queue but not its
    // $share subscriptions. The same filter again replaces the subscription (no duplicate
    // deliveries); `resubscribe: true` because mqtt.js skips a topic it subscribed to before.
    client.subscribe({ [o.topic]: { qos: 1 }, resubscribe: true } as unknown as ISubscriptionMap, (err) => o.onSubscribed?.(err ? err.message : undefined));
  });
  return client;
}

/** Where a message's ack goes: its connection, with the epoch it arrived in. */
interface AckTarget {
  ack(messageId: number, epoch: number): void;
}

const NO_ACK: AckTarget = { ack() {} };

class Inbound implements InboundMessage {
  constructor(
    readonly topic: string,
    readonly payload: Uint8Array,
    private readonly messageId: number,
    private readonly epoch: number,
    private readonly target: AckTarget,
    readonly traceparent: string | undefined,
  ) {}

  ack(): void {
    this.target.ack(this.messageId, this.epoch);
  }
}

interface PublishPacket {
  topic: string;
  payload: Buffer;
  qos: number;
  messageId?: number;
  properties?: { userProperties?: Record<string, string | string[]> };
}

/** The `traceparent` user property of an MQTT 5 publish (the first, if repeated). */
function traceparentOf(packet: PublishPacket): string | undefined {
  const v = packet.properties?.userProperties?.traceparent;
  return typeof v === "string" ? v : Array.isArray(v) ? v[0] : undefined;
}
