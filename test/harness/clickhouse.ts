import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { findBinary } from "./binaries.js";
import { ServiceMissingError } from "./errors.js";
import { freePort } from "./free-port.js";
import { ManagedService } from "./managed-service.js";
import type { ServiceHandle, StartupTiming } from "./managed-service.js";
import { httpGet } from "./probes.js";
import { renderTemplate } from "./templates.js";

/**
 * Starts clickhouse-server (Debian 12: 18.16.1) on random loopback HTTP and native ports
 * from the minimal deploy/local/templates/clickhouse-config.xml, with the package's users.xml
 * (override: SHOAL_CLICKHOUSE_USERS_XML). Healthy when HTTP /ping answers "Ok.".
 */
export async function startClickHouse(): Promise<ServiceHandle & StartupTiming & { tcpPort: number }> {
  const binary = findBinary("clickhouse");
  const users = process.env.SHOAL_CLICKHOUSE_USERS_XML ?? "/etc/clickhouse-server/users.xml";
  if (!existsSync(users)) throw new ServiceMissingError("clickhouse-server", `${users} is missing`);
  let httpPort = 0;
  let tcpPort = 0;
  const service = await ManagedService.start({
    name: "clickhouse",
    startTimeoutMs: 60_000,
    async configure(dataDir) {
      httpPort = await freePort();
      tcpPort = await freePort();
      await mkdir(join(dataDir, "log"), { recursive: true });
      const config = join(dataDir, "config.xml");
      await renderTemplate("clickhouse-config.xml", config, {
        HTTP_PORT: httpPort,
        TCP_PORT: tcpPort,
        DATA_DIR: dataDir,
        USERS_CONFIG: users,
      });
      const ping = `http://127.0.0.1:${httpPort}/ping`;
      return {
        binary,
        args: [`--config-file=${config}`],
        stdioLog: join(dataDir, "clickhouse.stdout.log"),
        logFile: join(dataDir, "log", "clickhouse-server.log"),
        extraLogs: [join(dataDir, "log", "clickhouse-server.err.log")],
        ports: [httpPort, tcpPort],
        async healthy() {
          const res = await httpGet(ping);
          return res?.status === 200 && res.body.startsWith("Ok.");
        },
      };
    },
  });
  return service.handle(`http://127.0.0.1:${httpPort}`, httpPort, { tcpPort });
}
