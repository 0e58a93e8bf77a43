import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { findBinary } from "./binaries.js";
import { freePort } from "./free-port.js";
import { ManagedService } from "./managed-service.js";
import type { ServiceHandle, StartupTiming } from "./managed-service.js";
import { httpGet } from "./probes.js";
import { renderTemplate } from "./templates.js";

/** Options of {@link startNats}. */
export interface NatsOptions {
  /** Enable JetStream (file store in the data dir). Default true. */
  jetstream?: boolean;
  /** A nats-server `authorization { … }` block appended to the config: clients must authenticate. */
  authorization?: string;
}

/**
 * Starts nats-server on random loopback ports (client + HTTP monitor) from
 * deploy/local/templates/nats.conf. Healthy when /healthz answers ok and /varz shows this
 * server's unique name and, with JetStream, its JetStream config (nats-server 2.9's
 * `/healthz?js-enabled-only=true` alone says ok even with JetStream off).
 */
export async function startNats(opts: NatsOptions = {}): Promise<ServiceHandle & StartupTiming & { monitorUrl: string }> {
  const jetstream = opts.jetstream ?? true;
  const binary = findBinary("nats");
  let port = 0;
  let monitorPort = 0;
  const service = await ManagedService.start({
    name: "nats",
    startTimeoutMs: 30_000,
    async configure(dataDir) {
      port = await freePort();
      monitorPort = await freePort();
      const serverName = `shoal-test-${port}`;
      const config = join(dataDir, "nats.conf");
      await renderTemplate("nats.conf", config, {
        SERVER_NAME: serverName,
        PORT: port,
        MONITOR_PORT: monitorPort,
        JETSTREAM: String(jetstream),
        DATA_DIR: dataDir,
      });
      if (opts.authorization !== undefined) await appendFile(config, `\n${opts.authorization}\n`);
      const log = join(dataDir, "nats.log");
      const monitor = `http://127.0.0.1:${monitorPort}`;
      return {
        binary,
        args: ["-c", config],
        stdioLog: log,
        logFile: log,
        ports: [port, monitorPort],
        async healthy() {
          const health = await httpGet(`${monitor}/healthz${jetstream ? "?js-enabled-only=true" : ""}`);
          if (health?.status !== 200) return false;
          const varz = await httpGet(`${monitor}/varz`);
          if (varz?.status !== 200) return false;
          const v = JSON.parse(varz.body) as { server_name?: string; jetstream?: { config?: unknown } };
          return v.server_name === serverName && (!jetstream || v.jetstream?.config !== undefined);
        },
      };
    },
  });
  return service.handle(`nats://127.0.0.1:${port}`, port, { monitorUrl: `http://127.0.0.1:${monitorPort}` });
}
