import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { findBinary } from "./binaries.js";
import { freePort } from "./free-port.js";
import { ManagedService } from "./managed-service.js";
import type { ServiceHandle, StartupTiming } from "./managed-service.js";
import { httpGet } from "./probes.js";
import { renderTemplate } from "./templates.js";

/** Options of {@link startConsul}. */
export interface ConsulOptions {
  /**
   * ACLs on with `default_policy = "deny"`, this the master (management) token: a request without
   * a token, or with an unknown one, is refused (403).
   */
  aclMasterToken?: string;
}

/**
 * Starts Consul (1.8.7 from Debian 11) as a single persistent server (`bootstrap = true`,
 * data in the temp dir, so restart() keeps KV and sessions) on random loopback HTTP, server
 * RPC and serf LAN/WAN ports; DNS and gRPC are off. Several can run at once. Healthy when
 * /v1/status/leader names this server's own RPC address (a leader is elected in ~1-2 s:
 * raft_multiplier 1 is the fastest setting outside -dev, whose in-memory raft would lose data
 * on restart).
 */
export async function startConsul(opts: ConsulOptions = {}): Promise<ServiceHandle & StartupTiming> {
  const binary = findBinary("consul");
  let httpPort = 0;
  const service = await ManagedService.start({
    name: "consul",
    startTimeoutMs: 60_000,
    async configure(dataDir) {
      httpPort = await freePort();
      const serverPort = await freePort();
      const serfLanPort = await freePort();
      const serfWanPort = await freePort();
      const config = join(dataDir, "consul.hcl");
      await renderTemplate("consul.hcl", config, {
        NODE_NAME: `shoal-test-${httpPort}`,
        DATA_DIR: dataDir,
        HTTP_PORT: httpPort,
        SERVER_PORT: serverPort,
        SERF_LAN_PORT: serfLanPort,
        SERF_WAN_PORT: serfWanPort,
      });
      if (opts.aclMasterToken !== undefined) {
        await appendFile(config, `\nacl {\n  enabled = true\n  default_policy = "deny"\n  tokens {\n    master = "${opts.aclMasterToken}"\n  }\n}\n`);
      }
      const log = join(dataDir, "consul.log");
      const leaderUrl = `http://127.0.0.1:${httpPort}/v1/status/leader`;
      return {
        binary,
        args: ["agent", `-config-file=${config}`],
        stdioLog: log,
        logFile: log,
        ports: [httpPort, serverPort, serfLanPort, serfWanPort],
        async healthy() {
          const res = await httpGet(leaderUrl);
          return res?.status === 200 && res.body.trim() === `"127.0.0.1:${serverPort}"`;
        },
      };
    },
  });
  return service.handle(`http://127.0.0.1:${httpPort}`, httpPort, {});
}
