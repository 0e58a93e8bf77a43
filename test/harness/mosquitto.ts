import { join } from "node:path";
import { findBinary } from "./binaries.js";
import { freePort } from "./free-port.js";
import { ManagedService } from "./managed-service.js";
import type { ServiceHandle, StartupTiming } from "./managed-service.js";
import { mqttConnack } from "./probes.js";
import { renderTemplate } from "./templates.js";

/**
 * Starts Mosquitto 2.0 on a random loopback port from deploy/local/templates/mosquitto.conf
 * (anonymous, persistence in its data dir, max_queued_messages 100000). Healthy when an MQTT CONNECT gets
 * a CONNACK with return code 0.
 */
export async function startMosquitto(): Promise<ServiceHandle & StartupTiming> {
  const binary = findBinary("mosquitto");
  let port = 0;
  const service = await ManagedService.start({
    name: "mosquitto",
    startTimeoutMs: 30_000,
    async configure(dataDir) {
      port = await freePort();
      const config = join(dataDir, "mosquitto.conf");
      await renderTemplate("mosquitto.conf", config, { PORT: port, DATA_DIR: dataDir });
      const log = join(dataDir, "mosquitto.log");
      const p = port;
      return { binary, args: ["-c", config], stdioLog: log, logFile: log, ports: [port], healthy: () => mqttConnack(p) };
    },
  });
  return service.handle(`mqtt://127.0.0.1:${port}`, port, {});
}
