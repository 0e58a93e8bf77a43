import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDeferredAckSubscriber, type InboundMessage } from "../../src/adapters/mqtt/deferred-ack-subscriber.js";
import { startMosquitto, type ServiceHandle } from "../harness/index.js";
import { waitFor } from "../support/pipeline.js";

/**
 * The bridge's MQTT subscriber keeps a live connection while its backpressure gate holds the socket
 * unread (real Mosquitto 2.0; the backlog published by Debian's mosquitto_pub). The gate lets one
 * message through every 150 ms, so 60 messages already sent by the broker take ~9 s to work
 * through; with a 2 s keepalive the broker's PINGRESP waits behind them. mqtt.js counts only acks
 * and PINGRESP as signs of life, so before the subscriber counted arriving publishes as well it
 * dropped the connection after 3 s ("Keepalive timeout") and the broker delivered the unacknowledged
 * messages again (seen at 150,000 readings/s in batches of 50: 20,150 readings twice).
 */

let broker: ServiceHandle;
let sub: MqttClient | undefined;

beforeAll(async () => {
  broker = await startMosquitto();
});

afterAll(async () => {
  await sub?.endAsync(true);
  await broker?.stop();
});

function publishLines(url: string, topic: string, lines: readonly string[]): Promise<number | null> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const child = spawn("mosquitto_pub", ["-h", "127.0.0.1", "-p", port, "-V", "mqttv5", "-q", "1", "-t", topic, "-l"], { stdio: ["pipe", "ignore", "inherit"] });
    child.on("close", resolve);
    child.stdin.end(lines.join("\n") + "\n");
  });
}

it("a gate that holds the socket for longer than the keepalive does not drop the connection or cause redeliveries", async () => {
  const got: string[] = [];
  let closes = 0;
  const errors: string[] = [];
  sub = createDeferredAckSubscriber(
    {
      url: broker.url,
      clientId: `keepalive-${randomBytes(4).toString("hex")}`,
      topic: "load/#",
      receiveMaximum: 1000,
      keepaliveSec: 2,
      // Never admitted at once: every message waits 150 ms before the next packet is read.
      gate: { admitted: () => false, whenAdmitted: () => new Promise<void>((r) => setTimeout(r, 150)) },
    },
    (m: InboundMessage) => {
      got.push(Buffer.from(m.payload).toString());
      m.ack();
    },
  );
  sub.on("close", () => closes++);
  sub.on("error", (e) => errors.push(e.message));
  await waitFor(async () => sub!.connected, (c) => c, 10_000, "the subscriber to connect");
  await new Promise((r) => setTimeout(r, 500)); // its subscription reaches the broker

  const lines = Array.from({ length: 60 }, (_, i) => `m${i}`);
  expect(await publishLines(broker.url, "load/x", lines)).toBe(0);
  await waitFor(async () => got.length, (n) => n >= lines.length, 30_000, "every message to be worked through");
  // A dropped connection would have sent the unacknowledged ones again: wait a little for any.
  await new Promise((r) => setTimeout(r, 1000));

  expect(errors).toEqual([]);
  expect(closes).toBe(0);
  expect(got).toEqual(lines);
}, 60_000);
