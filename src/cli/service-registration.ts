import { createConsulAgent } from "../adapters/consul/index.js";
import type { ConsulAgent } from "../adapters/consul/index.js";

/** A role instance to register in Consul. */
export interface ServiceRegistrationOptions {
  /** Service name, e.g. `shoal-runtime`. */
  readonly name: string;
  /** Unique instance id, e.g. `shoal-runtime-<nodeId>`. */
  readonly id: string;
  readonly port?: number;
  readonly address?: string;
  /** TTL of the health check in ms; it is refreshed every ttlMs/3. */
  readonly ttlMs: number;
  readonly tags?: readonly string[];
  readonly meta?: Record<string, string>;
  /** ACL token (secret). */
  readonly token?: string;
  /** Told about refresh failures (Consul down, ...); the timer keeps trying. */
  readonly onError?: (err: unknown) => void;
  /** Agent to use instead of one for `consulUrl` (tests). */
  readonly agent?: ConsulAgent;
}

/** A registered service; `close()` stops the heartbeat and deregisters. Idempotent. */
export interface ServiceRegistration {
  close(): Promise<void>;
}

/**
 * Registers a role with the Consul agent at `consulUrl`, with a TTL health check kept passing
 * by a timer (every ttlMs/3). When the agent has forgotten the service (agent restarted with
 * dev-mode state), the next refresh re-registers it. Throws ConsulError if the first
 * registration fails.
 */
export async function registerService(consulUrl: string, opts: ServiceRegistrationOptions): Promise<ServiceRegistration> {
  const agent = opts.agent ?? createConsulAgent({ url: consulUrl, ...(opts.token ? { token: opts.token } : {}) });
  const def = {
    name: opts.name,
    id: opts.id,
    ttlMs: opts.ttlMs,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.address !== undefined ? { address: opts.address } : {}),
    ...(opts.tags ? { tags: opts.tags } : {}),
    ...(opts.meta ? { meta: opts.meta } : {}),
  };
  try {
    await agent.register(def);
    await agent.pass(opts.id);
  } catch (err) {
    if (!opts.agent) agent.close();
    throw err;
  }
  let closed = false;
  let inFlight: Promise<void> = Promise.resolve();
  const refresh = async () => {
    try {
      await agent.pass(opts.id);
    } catch (err) {
      if (closed) return;
      const status = (err as { status?: number }).status;
      if (status !== undefined && status >= 400 && status < 500 && status !== 403) {
        // Unknown check: the agent lost the service. Register it again.
        try {
          await agent.register(def);
          await agent.pass(opts.id);
          return;
        } catch (again) {
          opts.onError?.(again);
          return;
        }
      }
      opts.onError?.(err);
    }
  };
  const timer = setInterval(() => {
    inFlight = refresh();
  }, Math.max(100, Math.floor(opts.ttlMs / 3)));
  timer.unref();
  return {
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await inFlight;
      try {
        await agent.deregister(opts.id);
      } finally {
        if (!opts.agent) agent.close();
      }
    },
  };
}

/** The slice of the configuration that decides whether and where a role registers. */
export interface RoleRegistrationConfig {
  readonly env: string;
  readonly nodeId: string;
  readonly consul: { readonly url?: string; readonly token?: string; readonly registerServices: boolean };
}

/**
 * Registers role `role` of this node as service `shoal-<role>`, instance `shoal-<role>-<nodeId>`,
 * tagged with the env and role, when `consul.url` is set and `consul.registerServices` is true;
 * otherwise returns a no-op registration. Call `close()` on shutdown (before exiting).
 */
export async function registerRole(
  config: RoleRegistrationConfig,
  role: string,
  opts: { port?: number; ttlMs?: number; tags?: readonly string[]; onError?: (err: unknown) => void } = {},
): Promise<ServiceRegistration> {
  const { url, token, registerServices } = config.consul;
  if (!url || !registerServices) return { close: async () => {} };
  return registerService(url, {
    name: `shoal-${role}`,
    id: `shoal-${role}-${config.nodeId}`,
    ttlMs: opts.ttlMs ?? 10_000,
    tags: [config.env, role, ...(opts.tags ?? [])],
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(token ? { token } : {}),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
}
