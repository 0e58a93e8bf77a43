import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { ServiceMissingError } from "./errors.js";
import { consulPkgBin } from "./paths.js";

/** Services the harness can start. */
export type ServiceKind = "nats" | "mosquitto" | "clickhouse" | "redis" | "consul";

const programs: Record<ServiceKind, { binary: string; env: string }> = {
  nats: { binary: "nats-server", env: "SHOAL_NATS_BIN" },
  mosquitto: { binary: "mosquitto", env: "SHOAL_MOSQUITTO_BIN" },
  clickhouse: { binary: "clickhouse-server", env: "SHOAL_CLICKHOUSE_BIN" },
  redis: { binary: "redis-server", env: "SHOAL_REDIS_BIN" },
  consul: { binary: "consul", env: "SHOAL_CONSUL_BIN" },
};

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Absolute path of a service's program. Looks at `$SHOAL_<SERVICE>_BIN`, then PATH, then
 * /usr/sbin, /usr/bin, /usr/local/bin (root's PATH has sbin, a user's may not), then, for
 * consul, the project-local copy `.shoal/pkgs/consul/usr/bin/consul`.
 * @throws ServiceMissingError when none is executable.
 */
export function findBinary(kind: ServiceKind, env: NodeJS.ProcessEnv = process.env): string {
  const { binary, env: override } = programs[kind];
  const forced = env[override];
  if (forced !== undefined && forced !== "") {
    if (isExecutableFile(forced)) return forced;
    throw new ServiceMissingError(binary, `${override}=${forced} is not an executable file`);
  }
  const dirs = [...(env.PATH ?? "").split(delimiter).filter(Boolean), "/usr/sbin", "/usr/bin", "/usr/local/bin"];
  for (const dir of dirs) {
    const candidate = join(dir, binary);
    if (isExecutableFile(candidate)) return candidate;
  }
  if (kind === "consul" && isExecutableFile(consulPkgBin)) return consulPkgBin;
  throw new ServiceMissingError(binary);
}
