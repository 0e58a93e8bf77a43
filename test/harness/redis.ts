import { join } from "node:path";
import { findBinary } from "./binaries.js";
import { freePort } from "./free-port.js";
import { ManagedService } from "./managed-service.js";
import type { ServiceHandle, StartupTiming } from "./managed-service.js";
import { redisPing } from "./probes.js";
import { renderTemplate } from "./templates.js";

/**
 * Starts redis-server on a random loopback port from deploy/local/templates/redis.conf
 * (append-only file, fsync every second, so restart() keeps data). Healthy on +PONG.
 */
export async function startRedis(): Promise<ServiceHandle & StartupTiming> {
  const binary = findBinary("redis");
  let port = 0;
  const service = await ManagedService.start({
    name: "redis",
    startTimeoutMs: 30_000,
    async configure(dataDir) {
      port = await freePort();
      const config = join(dataDir, "redis.conf");
      await renderTemplate("redis.conf", config, { PORT: port, DATA_DIR: dataDir });
      const log = join(dataDir, "redis.log");
      const p = port;
      return { binary, args: [config], stdioLog: log, logFile: log, ports: [port], healthy: () => redisPing(p) };
    },
  });
  return service.handle(`redis://127.0.0.1:${port}`, port, {});
}
