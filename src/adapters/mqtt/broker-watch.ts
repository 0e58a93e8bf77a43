import mqtt, { type MqttClient } from "mqtt";
import type { MqttTlsConnectOptions } from "./tls-options.js";
import type { IncidentReporter } from "../../ports/incidents.js";
import { systemClock } from "../../base/clock.js";

/** Options of {@link watchBroker}. */
export interface BrokerWatchOptions {
  readonly url: string;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  /** TLS of an `mqtts://` URL (CA, client cert): {@link mqttTlsOptions} of `mqtt.tls`. */
  readonly tls?: MqttTlsConnectOptions | Record<string, never>;
}

/** What the watch saw last (for stats). */
export interface BrokerWatch {
  /** Messages Mosquitto reports dropped since it started (queue or in-flight limits). */
  dropped(): number;
  /** Broker restarts seen by this watch. */
  restarts(): number;
  close(): Promise<void>;
}

const UPTIME = "$SYS/broker/uptime";
const DROPPED = "$SYS/broker/publish/messages/dropped";
const STORED = "$SYS/broker/store/messages/count";

/**
 * Makes the broker's own losses loud (Mosquitto publishes its counters on `$SYS` every
 * `sys_interval`): messages it dropped because a queue or in-flight window was full (readings the
 * devices already had a PUBACK for), and a restart, which — without persistence — loses every
 * message it had queued for the bridge. Each becomes an incident with what can be known (the
 * drop count; the messages stored at the last report before the restart).
 */
export function watchBroker(o: BrokerWatchOptions, incidents: IncidentReporter): BrokerWatch {
  const client: MqttClient = mqtt.connect(o.url, { clientId: o.clientId, clean: true, reconnectPeriod: 1000, username: o.username, password: o.password, ...o.tls, log: () => {} });
  let lastUptime: number | undefined;
  let lastUptimeAt = 0;
  let lastDropped: number | undefined;
  let stored = 0;
  let restarts = 0;
  client.on("connect", () => void client.subscribeAsync([UPTIME, DROPPED, STORED], { qos: 0 }).catch(() => {}));
  client.on("message", (topic, payload) => {
    const n = Number.parseInt(payload.toString(), 10);
    if (!Number.isFinite(n)) return;
    if (topic === STORED) stored = n;
    else if (topic === UPTIME) {
      // Restarted: the uptime is below what the last one has grown to since (3 s of slack for reports in flight).
      const now = systemClock.now();
      const expected = lastUptime === undefined ? 0 : lastUptime + (now - lastUptimeAt) / 1000;
      if (lastUptime !== undefined && n < expected - 3) {
        restarts++;
        incidents.report({
          kind: "broker.restarted",
          message: "the MQTT broker restarted: messages it had queued for the bridge and not yet delivered are lost unless it runs with persistence",
          detail: { uptimeBeforeS: lastUptime, expectedUptimeS: Math.floor(expected), uptimeS: n, messagesStoredAtLastReport: stored },
        });
        lastDropped = undefined; // its counters start again
      }
      lastUptime = n;
      lastUptimeAt = now;
    } else if (topic === DROPPED) {
      if (lastDropped !== undefined && n > lastDropped) {
        incidents.report({ kind: "broker.dropped", message: `the MQTT broker dropped ${n - lastDropped} messages (a queue or in-flight window was full; Mosquitto counts drops broker-wide, so they may be another subscriber's, e.g. an offline persistent session's queue)`, detail: { dropped: n - lastDropped, droppedSinceStart: n } });
      }
      lastDropped = n;
    }
  });
  return {
    dropped: () => lastDropped ?? 0,
    restarts: () => restarts,
    close: () => client.endAsync().then(() => undefined),
  };
}
