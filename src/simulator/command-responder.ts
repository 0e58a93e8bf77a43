import type { MqttClient } from "mqtt";
import { commandTopic, replyTopic } from "../commands/topics.js";

/** Options of {@link startCommandResponder}. */
export interface CommandResponderOptions {
  /** How long a device "works" on a command before it replies, ms. Default 200. */
  readonly replyDelayMs?: number;
  /** Called once per reply sent (tests, progress lines). */
  readonly onAnswered?: (deviceId: string, commandId: string) => void;
}

/** A running responder. */
export interface CommandResponder {
  /** Replies sent so far. */
  readonly answered: () => number;
  /** Stop answering (replies scheduled and not yet sent are dropped) and unsubscribe. */
  stop(): Promise<void>;
}

/** Topics per SUBSCRIBE packet. */
const SUBSCRIBE_CHUNK = 500;

/**
 * Simulated devices that carry out commands (docs/adr/0021-device-commands.md): on `client` (an
 * MQTT 5 connection the simulator already holds for these devices) it subscribes QoS 1 to
 * `devices/<id>/commands` of every id in `deviceIds` and answers each command after
 * `replyDelayMs` with `{"ok":true,"commandId":…,"name":…}` on the message's response topic (the
 * device's reply topic when none is set), echoing its correlation data — as a real device
 * following the contract would.
 */
export async function startCommandResponder(client: MqttClient, deviceIds: readonly string[], o: CommandResponderOptions = {}): Promise<CommandResponder> {
  const delay = o.replyDelayMs ?? 200;
  const mine = new Map(deviceIds.map((id) => [commandTopic(id), id]));
  const timers = new Set<NodeJS.Timeout>();
  let answered = 0;
  let stopped = false;
  const onMessage = (topic: string, payload: Buffer, packet: { properties?: { correlationData?: Buffer; responseTopic?: string } }) => {
    const deviceId = mine.get(topic);
    if (deviceId === undefined || stopped) return;
    let cmd: { commandId?: unknown; name?: unknown };
    try {
      cmd = JSON.parse(payload.toString("utf8")) as { commandId?: unknown; name?: unknown };
    } catch {
      cmd = {};
    }
    const correlationData = packet.properties?.correlationData;
    const to = packet.properties?.responseTopic ?? replyTopic(deviceId);
    const body = JSON.stringify(typeof cmd.commandId === "string" ? { ok: true, commandId: cmd.commandId, name: cmd.name } : { ok: false, error: "unreadable command" });
    const t = setTimeout(() => {
      timers.delete(t);
      if (stopped) return;
      client.publish(to, body, { qos: 1, properties: correlationData === undefined ? {} : { correlationData } }, (err) => {
        if (err) return;
        answered++;
        o.onAnswered?.(deviceId, typeof cmd.commandId === "string" ? cmd.commandId : "");
      });
    }, delay);
    timers.add(t);
  };
  client.on("message", onMessage);
  const topics = [...mine.keys()];
  for (let i = 0; i < topics.length; i += SUBSCRIBE_CHUNK) await client.subscribeAsync(topics.slice(i, i + SUBSCRIBE_CHUNK), { qos: 1 });
  return {
    answered: () => answered,
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      client.off("message", onMessage);
      if (client.connected && topics.length > 0) {
        for (let i = 0; i < topics.length; i += SUBSCRIBE_CHUNK) await client.unsubscribeAsync(topics.slice(i, i + SUBSCRIBE_CHUNK)).catch(() => {});
      }
    },
  };
}
