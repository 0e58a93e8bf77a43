import type { NatsConnection } from "@nats-io/transport-node";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ShoalConfig } from "../../config/index.js";
import type { DeviceRegistry } from "../../ports/device-registry.js";
import type { Log } from "../../ports/log.js";
import type { DeviceCommandService } from "../../gen/shoal/v1/command_pb.js";
import { sleep, systemClock } from "../../base/clock.js";
import { backoffMs } from "../../base/backoff.js";
import { errorMessage } from "../../base/errors.js";
import { createKvCommandStore } from "../../adapters/nats/command-store-kv.js";
import { createCommandFeed, createCommandQueue, ensureCommandStream } from "../../adapters/nats/command-stream.js";
import { createMqttCommandLink } from "../../adapters/mqtt/command-link.js";
import { mqttTlsOptions } from "../../adapters/mqtt/tls-options.js";
import { startDownlink, type Downlink } from "../../bridge/downlink.js";
import { createCommandService } from "../../command-service/index.js";

/**
 * Commands to devices (docs/adr/0021-device-commands.md) wired to NATS and MQTT from the
 * configuration: the bridge's downlink, and the DeviceCommandService a gRPC role serves.
 */

/**
 * The bridge's downlink: the command status bucket (`commands.bucket`, TTL `commands.keep`,
 * `nats.replicas`), the durable consumer of SHOAL_COMMANDS shared by every bridge, and one MQTT 5
 * session per bridge process (`<sharedGroup>-<nodeId>-downlink`) publishing commands and receiving
 * replies on `$share/<sharedGroup>-replies/devices/+/commands/reply`. Stop it before draining `nc`.
 */
export async function startBridgeDownlink(nc: NatsConnection, cfg: ShoalConfig, log: Log): Promise<Downlink> {
  await ensureCommandStream(nc, { replicas: cfg.nats.replicas });
  const store = await createKvCommandStore(nc, { bucket: cfg.commands.bucket, replicas: cfg.nats.replicas, keepMs: cfg.commands.keepMs, log });
  const feed = createCommandFeed(nc, { replicas: cfg.nats.replicas });
  const link = createMqttCommandLink({
    url: cfg.mqtt.url,
    clientId: `${cfg.mqtt.sharedGroup}-${cfg.nodeId}-downlink`,
    group: `${cfg.mqtt.sharedGroup}-replies`,
    username: cfg.mqtt.username,
    password: cfg.mqtt.password,
    tls: mqttTlsOptions(cfg.mqtt.url, cfg.mqtt.tls),
    log,
  });
  return startDownlink({ store, feed, link, clock: systemClock, retryEveryMs: cfg.commands.retryEveryMs, log });
}

/**
 * {@link startBridgeDownlink} without holding up the bridge: ingest matters more than commands, and
 * a JetStream cluster that is still electing leaders (a node just restarted) can time out the
 * downlink's stream, bucket and consumer requests for a while. Tried again with backoff (each failure
 * logged) until it starts or `stop()` is called; commands wait in SHOAL_COMMANDS meanwhile.
 */
export function startBridgeDownlinkInBackground(nc: NatsConnection, cfg: ShoalConfig, log: Log): { stop(): Promise<void> } {
  let stopped = false;
  let downlink: Downlink | undefined;
  const started = (async () => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        const d = await startBridgeDownlink(nc, cfg, log);
        if (stopped) await d.stop();
        else downlink = d;
        return;
      } catch (e) {
        const delay = backoffMs(attempt, 500, 15_000);
        log.warn({ err: errorMessage(e), retryInMs: delay }, "commands to devices: the downlink did not start (tried again; ingest is not affected)");
        await sleep(delay);
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await started;
      await downlink?.stop();
    },
  };
}

/**
 * The DeviceCommandService on `nc`: the same bucket and stream as the downlink (created when
 * missing), default TTL `commands.ttl`; with `registry.mode: strict` the given registry decides
 * which devices may get commands. Serve it with addCommandService (gRPC) and
 * `webService(DeviceCommandService, impl)` (HTTP).
 */
export async function createConfiguredCommandService(nc: NatsConnection, cfg: ShoalConfig, log: Log, registry?: Pick<DeviceRegistry, "get">): Promise<ServiceImpl<typeof DeviceCommandService>> {
  await ensureCommandStream(nc, { replicas: cfg.nats.replicas });
  const store = await createKvCommandStore(nc, { bucket: cfg.commands.bucket, replicas: cfg.nats.replicas, keepMs: cfg.commands.keepMs, log });
  return createCommandService({
    store,
    queue: createCommandQueue(nc),
    clock: systemClock,
    defaultTtlMs: cfg.commands.ttlMs,
    ...(cfg.registry.mode === "strict" && registry !== undefined ? { registry } : {}),
    onInternalError: (method, err) => log.error({ method, err: errorMessage(err) }, "command service: internal error"),
  });
}
