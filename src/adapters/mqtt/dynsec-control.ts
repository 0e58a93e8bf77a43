import { randomBytes } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import type { MqttTlsConnectOptions } from "./tls-options.js";
import { ShoalError } from "../../base/errors.js";
import type { Logger } from "../../observability/logger.js";

/** The topic Mosquitto's dynamic security plugin takes commands on (JSON `{commands: [...]}`). */
export const DYNSEC_TOPIC = "$CONTROL/dynamic-security/v1";
/** Where it answers (`{responses: [...]}`, one response message per command message). */
export const DYNSEC_RESPONSE_TOPIC = "$CONTROL/dynamic-security/v1/response";

/** One dynamic-security command: `command` plus its fields (username, rolename, acls, ...). */
export interface DynsecCommand {
  readonly command: string;
  readonly [field: string]: unknown;
}

/** The plugin's answer to one command: `error` set (the broker's text) when it failed. */
export interface DynsecResponse {
  readonly command: string;
  readonly error?: string;
  readonly data?: Record<string, unknown>;
}

/** Options of {@link connectDynsec}. */
export interface DynsecControlOptions {
  readonly url: string;
  /** The plugin's admin (a client holding a role that may publish/subscribe `$CONTROL/dynamic-security/#`). */
  readonly username: string;
  readonly password: string;
  /** TLS of an `mqtts://` URL (CA, client cert): {@link mqttTlsOptions} of `mqtt.tls`. */
  readonly tls?: MqttTlsConnectOptions | Record<string, never>;
  readonly clientId?: string;
  /** Bound on each command message's answer, and on the first connection. Default 10 s. */
  readonly timeoutMs?: number;
  readonly log?: Logger;
}

/** A connection to the plugin: send commands, get their responses in the same order. */
export interface DynsecControl {
  /**
   * Sends `commands` in one message (the plugin runs them in order, atomically with respect to
   * client traffic: the broker is single-threaded) and resolves with one response per command.
   * Rejects with a ShoalError "timeout" (retryable) when no answer comes within the timeout, or
   * "unavailable" when the connection is closed.
   */
  run(commands: readonly DynsecCommand[]): Promise<DynsecResponse[]>;
  close(): Promise<void>;
}

/** MQTT 5 CONNACK reason codes that mean "these credentials are refused". */
const REFUSED = new Set([4, 5, 134, 135]);

/**
 * Connects to Mosquitto as the dynamic-security admin over MQTT 5 (one connection, reconnecting
 * every second) and subscribes to the response topic. Each command message carries a correlation
 * id (`correlationData` of its first command, prefixed per connection) so the answers of several
 * admins sharing the response topic are told apart. Resolves once connected and subscribed;
 * rejects with a ShoalError "unauthenticated" when the broker refuses the credentials and
 * "unavailable" when it cannot be reached within the timeout.
 */
export async function connectDynsec(o: DynsecControlOptions): Promise<DynsecControl> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const prefix = `shoal-${randomBytes(4).toString("hex")}`;
  const client: MqttClient = mqtt.connect(o.url, {
    clientId: o.clientId ?? `${o.username}-${randomBytes(4).toString("hex")}`,
    username: o.username,
    password: o.password,
    ...o.tls,
    protocolVersion: 5,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: timeoutMs,
    log: () => {},
  });
  const pending = new Map<string, { resolve(r: DynsecResponse[]): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  let seq = 0;
  let closed = false;

  client.on("message", (topic, payload) => {
    if (topic !== DYNSEC_RESPONSE_TOPIC) return;
    let responses: Array<DynsecResponse & { correlationData?: unknown }>;
    try {
      responses = (JSON.parse(payload.toString("utf8")) as { responses?: typeof responses }).responses ?? [];
    } catch {
      return;
    }
    const id = responses[0]?.correlationData;
    if (typeof id !== "string") return;
    const waiter = pending.get(id);
    if (waiter === undefined) return; // another admin's answer, or one that timed out
    pending.delete(id);
    clearTimeout(waiter.timer);
    waiter.resolve(responses.map(({ correlationData: _c, ...r }) => r));
  });

  const subscribed = (): Promise<void> => client.subscribeAsync(DYNSEC_RESPONSE_TOPIC, { qos: 1 }).then(() => undefined);
  // Commands wait for `usable`: connected and subscribed to the answers (an answer sent before the
  // subscription would be lost, and its command would wait for the whole timeout).
  let usable: Promise<void> = Promise.resolve();
  let markUsable: () => void = () => {};
  const unusable = (): void => {
    usable = new Promise<void>((resolve) => (markUsable = resolve));
  };
  let first = true;
  client.on("connect", () => {
    if (first) {
      first = false;
      return; // the first subscription is made below
    }
    // A clean session forgets the subscription: subscribe again after every reconnect.
    subscribed().then(
      () => markUsable(),
      (e: Error) => o.log?.warn({ err: e.message }, "dynsec: subscribing to the response topic failed"),
    );
  });
  client.on("close", () => {
    unusable();
    // Their answers, if any, went to the closed connection: fail them now (retryable) instead of at the timeout.
    for (const [id, w] of pending) {
      pending.delete(id);
      clearTimeout(w.timer);
      w.reject(new ShoalError("dynsec: the connection to the broker closed before the answer", { code: "unavailable", retryable: true }));
    }
  });
  client.on("error", (e) => o.log?.warn({ err: e.message }, "dynsec: admin connection error"));

  await new Promise<void>((resolve, reject) => {
    const fail = (e: ShoalError): void => {
      clearTimeout(timer);
      client.off("connect", ok);
      client.off("error", onError);
      client.end(true);
      reject(e);
    };
    const timer = setTimeout(() => fail(new ShoalError(`dynsec: no connection to ${o.url} within ${timeoutMs} ms`, { code: "unavailable", retryable: true })), timeoutMs);
    const onError = (e: Error & { code?: number }): void => {
      if (typeof e.code === "number" && REFUSED.has(e.code)) {
        fail(new ShoalError(`dynsec: the broker at ${o.url} refused the admin credentials of ${o.username}: ${e.message}`, { code: "unauthenticated", cause: e }));
      }
    };
    const ok = (): void => {
      clearTimeout(timer);
      client.off("error", onError);
      subscribed().then(() => {
        markUsable();
        resolve();
      }, (e: Error) => fail(new ShoalError(`dynsec: ${o.username} may not subscribe to ${DYNSEC_RESPONSE_TOPIC}: ${e.message}`, { code: "unauthenticated", cause: e })));
    };
    client.once("connect", ok);
    client.on("error", onError);
  });

  return {
    run(commands) {
      if (closed) return Promise.reject(new ShoalError("dynsec: connection closed", { code: "closed" }));
      if (commands.length === 0) return Promise.resolve([]);
      const id = `${prefix}-${++seq}`;
      const body = JSON.stringify({ commands: commands.map((c, i) => (i === 0 ? { ...c, correlationData: id } : c)) });
      return new Promise<DynsecResponse[]>((resolve, reject) => {
        let waited = false;
        const unavailable = setTimeout(() => {
          waited = true;
          reject(new ShoalError(`dynsec: no connection to the broker within ${timeoutMs} ms`, { code: "unavailable", retryable: true }));
        }, timeoutMs);
        void usable.then(() => {
          clearTimeout(unavailable);
          if (waited || closed) return;
          send(resolve, reject);
        });
      });
      function send(resolve: (r: DynsecResponse[]) => void, reject: (e: Error) => void): void {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new ShoalError(`dynsec: no answer to ${commands.map((c) => c.command).join(",")} within ${timeoutMs} ms`, { code: "timeout", retryable: true }));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        client.publish(DYNSEC_TOPIC, body, { qos: 1 }, (err) => {
          if (err === undefined || err === null) return;
          const w = pending.get(id);
          if (w === undefined) return;
          pending.delete(id);
          clearTimeout(w.timer);
          reject(new ShoalError(`dynsec: publishing a command failed: ${err.message}`, { code: "unavailable", retryable: true, cause: err }));
        });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const [id, w] of pending) {
        pending.delete(id);
        clearTimeout(w.timer);
        w.reject(new ShoalError("dynsec: connection closed", { code: "closed" }));
      }
      await client.endAsync();
    },
  };
}

/**
 * Tries `username`/`password` on the broker with a throwaway MQTT 5 connection: true when it
 * accepts them (CONNACK 0), false when it refuses them; throws a ShoalError "unavailable" when the
 * broker gives no answer within `timeoutMs`. The dynamic-security plugin never returns a password
 * (nor its hash), so this is how an existing account's password is checked without resetting it
 * (a reset disconnects whoever uses the account). `tls`: connect options of an `mqtts://` url.
 */
export async function credentialsAccepted(url: string, username: string, password: string, timeoutMs = 10_000, tls: MqttTlsConnectOptions | Record<string, never> = {}): Promise<boolean> {
  const client = mqtt.connect(url, {
    clientId: `${username}-check-${randomBytes(4).toString("hex")}`,
    username,
    password,
    ...tls,
    protocolVersion: 5,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    log: () => {},
  });
  try {
    return await new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ShoalError(`no MQTT connection to ${url} within ${timeoutMs} ms`, { code: "unavailable", retryable: true })), timeoutMs);
      client.once("connect", () => {
        clearTimeout(timer);
        resolve(true);
      });
      client.once("error", (e: Error & { code?: number }) => {
        clearTimeout(timer);
        if (typeof e.code === "number" && REFUSED.has(e.code)) resolve(false);
        else reject(new ShoalError(`MQTT connection to ${url} failed: ${e.message}`, { code: "unavailable", retryable: true, cause: e }));
      });
    });
  } finally {
    client.end(true);
  }
}
