import mqtt, { type IClientPublishOptions, type MqttClient } from "mqtt";
import type { MqttTlsConnectOptions } from "./tls-options.js";
import type { CommandLink, DeliveryOutcome, DeviceReply } from "../../ports/commands.js";
import type { Log } from "../../ports/log.js";
import { backoffMs } from "../../base/backoff.js";
import { sleep } from "../../base/clock.js";
import { errorMessage } from "../../base/errors.js";
import { commandTopic, deviceOfReplyTopic, REPLY_FILTER, replyTopic } from "../../commands/topics.js";

/** Options of {@link createMqttCommandLink}. */
export interface MqttCommandLinkOptions {
  readonly url: string;
  /** Stable client id (persistent session: replies that came while this bridge was away are kept for it). */
  readonly clientId: string;
  /** Shared subscription group of the replies (`$share/<group>/devices/+/commands/reply`): each reply reaches one bridge. */
  readonly group: string;
  readonly username?: string;
  readonly password?: string;
  /** TLS of an `mqtts://` URL (CA, client cert): {@link mqttTlsOptions} of `mqtt.tls`. */
  readonly tls?: MqttTlsConnectOptions | Record<string, never>;
  /** Longest wait for a PUBACK, ms. Default 10 000. */
  readonly publishTimeoutMs?: number;
  readonly log?: Log;
}

/** MQTT 5 reason code "No matching subscribers" (a PUBACK success code). */
const NO_MATCHING_SUBSCRIBERS = 16;

/**
 * The downlink's MQTT 5 client (docs/adr/0021-device-commands.md). `send` publishes QoS 1 to
 * `devices/<id>/commands` with correlation data = the command id, response topic =
 * `devices/<id>/commands/reply`, message expiry = the remaining TTL, and JSON
 * `{"commandId","name","payload"}`; it reports the PUBACK's reason code (mqtt.js hands success
 * codes such as 16 to nobody, so they are read from the `packetreceive` event, which comes before
 * the publish callback for the same message id). While disconnected it publishes nothing
 * ("unreachable"): the command is offered again rather than queued in this process.
 *
 * Replies arrive on a shared subscription, QoS 1, and each is acknowledged to the broker only after
 * the handler resolved (a failing handler is retried with backoff, holding later replies back).
 */
export function createMqttCommandLink(o: MqttCommandLinkOptions): CommandLink {
  const client: MqttClient = mqtt.connect(o.url, {
    clientId: o.clientId,
    protocolVersion: 5,
    clean: false,
    keepalive: 30,
    reconnectPeriod: 500,
    connectTimeout: 10_000,
    username: o.username,
    password: o.password,
    ...o.tls,
    log: () => {},
    properties: { sessionExpiryInterval: 86_400 },
  });
  const filter = `$share/${o.group}/${REPLY_FILTER}`;
  client.on("connect", (ack) => {
    if (!ack.sessionPresent) client.subscribe(filter, { qos: 1 });
  });
  client.on("error", (e) => o.log?.warn({ err: e.message }, "downlink mqtt: connection error"));
  // PUBACK reason codes by message id, read before the publish callback of that id runs.
  const pubackCodes = new Map<number, number>();
  client.on("packetreceive", (p) => {
    if (p.cmd === "puback" && p.messageId !== undefined) pubackCodes.set(p.messageId, p.reasonCode ?? 0);
  });
  let closing = false;
  // Replies that come before onReply() (a persistent session's backlog right after connecting) wait for it.
  let setHandler!: (h: (r: DeviceReply) => Promise<void>) => void;
  const handler = new Promise<(r: DeviceReply) => Promise<void>>((resolve) => (setHandler = resolve));
  (client as unknown as { handleMessage: (packet: InboundPacket, cb: (err?: Error) => void) => void }).handleMessage = (packet, cb) => {
    const deviceId = deviceOfReplyTopic(packet.topic);
    if (deviceId === undefined) return cb();
    const cd = packet.properties?.correlationData;
    const reply: DeviceReply = { deviceId, correlation: cd === undefined ? undefined : Buffer.from(cd).toString("utf8"), payload: packet.payload };
    void (async () => {
      const h = await handler;
      for (let attempt = 0; !closing; attempt++) {
        try {
          await h(reply);
          cb(); // the PUBACK: only once the reply is recorded
          return;
        } catch (e) {
          o.log?.warn({ err: errorMessage(e), attempt }, "downlink: a reply could not be recorded; trying again");
          await sleep(backoffMs(attempt, 200, 5_000));
        }
      }
      // Closing with the reply unrecorded: no PUBACK, the broker gives it to a bridge again.
    })();
  };
  const timeoutMs = o.publishTimeoutMs ?? 10_000;

  return {
    send(c) {
      if (!client.connected) return Promise.resolve({ kind: "unreachable", reason: "not connected to the broker" });
      const opts: IClientPublishOptions = {
        qos: 1,
        properties: {
          correlationData: Buffer.from(c.commandId, "utf8"),
          responseTopic: replyTopic(c.deviceId),
          messageExpiryInterval: Math.max(1, Math.floor(c.expirySec)),
          contentType: "application/json",
        },
      };
      const body = JSON.stringify({ commandId: c.commandId, name: c.name, payload: JSON.parse(c.payloadJson) as unknown });
      return new Promise<DeliveryOutcome>((resolve) => {
        let done = false;
        const finish = (r: DeliveryOutcome) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(r);
        };
        const timer = setTimeout(() => finish({ kind: "unreachable", reason: `no PUBACK within ${timeoutMs} ms` }), timeoutMs);
        client.publish(commandTopic(c.deviceId), body, opts, (err, packet) => {
          const id = packet?.messageId;
          const code = id === undefined ? undefined : pubackCodes.get(id);
          if (id !== undefined) pubackCodes.delete(id);
          if (err) {
            const rc = (err as { code?: unknown }).code;
            if (typeof rc === "number") finish({ kind: "refused", code: rc, reason: err.message });
            else finish({ kind: "unreachable", reason: err.message });
            return;
          }
          finish(code === NO_MATCHING_SUBSCRIBERS ? { kind: "no_subscribers" } : { kind: "accepted" });
        });
      });
    },
    onReply(h) {
      setHandler(h);
    },
    async close() {
      closing = true;
      client.options.reconnectPeriod = 0;
      await client.endAsync();
    },
  };
}

interface InboundPacket {
  topic: string;
  payload: Buffer;
  properties?: { correlationData?: Buffer };
}
