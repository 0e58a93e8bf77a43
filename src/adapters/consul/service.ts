import { consulClient } from "./kv.js";
import type { ConsulConnection } from "./kv.js";
import { toConsulError } from "./errors.js";

/** A service instance to register with the local Consul agent. */
export interface ServiceDefinition {
  /** Service name, e.g. `shoal-runtime`. */
  readonly name: string;
  /** Unique instance id, e.g. `shoal-runtime-<nodeId>`. */
  readonly id: string;
  readonly port?: number;
  readonly address?: string;
  /** TTL of the health check in ms: the check turns critical when not refreshed in time. */
  readonly ttlMs: number;
  readonly tags?: readonly string[];
  readonly meta?: Record<string, string>;
  /** Consul removes the instance after its check has been critical this long. Default 1 m. */
  readonly deregisterCriticalAfterMs?: number;
}

/** The agent operations a TTL-checked service needs. */
export interface ConsulAgent {
  register(def: ServiceDefinition): Promise<void>;
  /** Marks the TTL check of service `id` passing. */
  pass(id: string, note?: string): Promise<void>;
  deregister(id: string): Promise<void>;
  close(): void;
}

/** Check id Consul gives the (single) check of a service registered with `id`. */
export const serviceCheckId = (id: string) => `service:${id}`;

/** The Consul agent API over the `consul` npm client; errors mapped to ConsulError. */
export function createConsulAgent(conn: ConsulConnection): ConsulAgent {
  const consul = consulClient(conn);
  return {
    async register(def) {
      try {
        await consul.agent.service.register({
          name: def.name,
          id: def.id,
          ...(def.port !== undefined ? { port: def.port } : {}),
          ...(def.address !== undefined ? { address: def.address } : {}),
          tags: [...(def.tags ?? [])],
          ...(def.meta ? { meta: def.meta } : {}),
          check: {
            name: `${def.name} TTL`,
            ttl: `${Math.max(1, Math.ceil(def.ttlMs / 1000))}s`,
            timeout: "",
            deregistercriticalserviceafter: `${Math.ceil((def.deregisterCriticalAfterMs ?? 60_000) / 1000)}s`,
            status: "passing",
          },
        });
      } catch (err) {
        throw toConsulError(err, `register service ${def.id}`);
      }
    },
    async pass(id, note) {
      try {
        await consul.agent.check.pass({ id: serviceCheckId(id), ...(note ? { note } : {}) });
      } catch (err) {
        throw toConsulError(err, `pass check of ${id}`);
      }
    },
    async deregister(id) {
      try {
        await consul.agent.service.deregister(id);
      } catch (err) {
        throw toConsulError(err, `deregister service ${id}`);
      }
    },
    close() {
      consul.destroy();
    },
  };
}
