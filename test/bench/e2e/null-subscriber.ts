/**
 * The subscriber of bench:e2e's `mqtt-only` shape: what the bridge's MQTT side is, and nothing
 * else. Four MQTT 5 connections on one shared subscription to `devices/+/readings` at QoS 1, each
 * message acknowledged on arrival (mqtt.js's own PUBACK) and counted, nothing decoded, forwarded
 * or stored. With the load generator and Mosquitto it measures what this machine's MQTT leg alone
 * costs, the ceiling of any pipeline on it that takes one reading per message.
 *
 * argv: the broker URL. stdout: "ready" once subscribed, then the messages received so far every 250 ms.
 */
import mqtt from "mqtt";

const url = process.argv[2];
if (url === undefined) throw new Error("usage: null-subscriber.ts <mqtt url>");
let received = 0;
for (let c = 0; c < 4; c++) {
  const client = await mqtt.connectAsync(url, { clientId: `null-sub-${process.pid}-${c}`, protocolVersion: 5, clean: true, keepalive: 30 });
  client.on("message", () => received++);
  await client.subscribeAsync({ "$share/null-sub/devices/+/readings": { qos: 1 } });
}
process.stdout.write("ready\n");
setInterval(() => process.stdout.write(`${received}\n`), 250);
