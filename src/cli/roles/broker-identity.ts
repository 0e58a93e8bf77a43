import type { NatsConnection } from "@nats-io/transport-node";
import type { ShoalConfig } from "../../config/index.js";
import type { Logger } from "../../observability/logger.js";
import { systemClock } from "../../base/clock.js";
import { createDynsecAccounts, type DynsecAccounts, type ServiceAccount } from "../../adapters/mqtt/dynsec.js";
import { mqttTlsOptions } from "../../adapters/mqtt/tls-options.js";
import { createKvDeviceRegistry } from "../../adapters/nats/device-registry-kv.js";
import { RegistryAdmission, sealingKeyFromEnv, startBrokerSync, type BrokerSync } from "../../registry/index.js";
import type { DeviceRegistry } from "../../ports/device-registry.js";

/**
 * The broker's device accounts, when this process has the broker's dynamic-security admin
 * (mqtt.adminUsername/adminPassword); undefined otherwise (the broker is not driven by Shoal).
 */
export async function openBrokerAccounts(cfg: ShoalConfig, log: Logger, role: string): Promise<DynsecAccounts | undefined> {
  const { adminUsername, adminPassword } = cfg.mqtt;
  if (adminUsername === undefined || adminUsername === "" || adminPassword === undefined || adminPassword === "") return undefined;
  return createDynsecAccounts({ url: cfg.mqtt.url, tls: mqttTlsOptions(cfg.mqtt.url, cfg.mqtt.tls), username: adminUsername, password: adminPassword, log: log.child({ part: `broker-admin-${role}` }) });
}

/** Device identity as the bridge runs it: the registry, the broker kept in step, strict admission. */
export interface BridgeIdentity {
  /** Opened only when needed (strict mode, or the broker sync). */
  readonly registry: DeviceRegistry | undefined;
  /** Set in `registry.mode: strict`: started (its initial state loaded). */
  readonly admission: RegistryAdmission | undefined;
  readonly sync: BrokerSync | undefined;
  close(): Promise<void>;
}

/**
 * What the bridge needs of device identity (docs/adr/0019-device-identity.md), before it subscribes:
 * with the broker's admin, the device policy and the service accounts (the bridge's own,
 * mqtt.username/password, plus `serviceAccounts`, e.g. the local simulator's gateway account) on
 * the broker, and — with registry.syncBroker — the registry → broker sync; in registry.mode strict,
 * the admission view the bridge checks every message against.
 */
export async function startBridgeIdentity(
  cfg: ShoalConfig,
  log: Logger,
  nc: NatsConnection,
  o: { readonly env: Readonly<Record<string, string | undefined>>; readonly serviceAccounts?: readonly ServiceAccount[] },
): Promise<BridgeIdentity> {
  const broker = await openBrokerAccounts(cfg, log, "bridge");
  const needsRegistry = cfg.registry.mode === "strict" || (broker !== undefined && cfg.registry.syncBroker);
  const registry = needsRegistry ? await createKvDeviceRegistry(nc, { bucket: cfg.registry.bucket, replicas: cfg.nats.replicas, log }) : undefined;
  let sync: BrokerSync | undefined;
  if (broker) {
    const own: ServiceAccount[] = cfg.mqtt.username && cfg.mqtt.password ? [{ username: cfg.mqtt.username, password: cfg.mqtt.password, role: "bridge" }] : [];
    if (own.length === 0) log.warn("mqtt.adminUsername is set but mqtt.username/password are not: the bridge's own account is not managed");
    await broker.ensureDeviceRole();
    await broker.ensureServiceAccounts([...own, ...(o.serviceAccounts ?? [])]);
    if (registry && cfg.registry.syncBroker) {
      sync = await startBrokerSync(registry, broker, { secretKey: sealingKeyFromEnv(o.env), log: log.child({ part: "broker-sync" }), clock: systemClock });
    }
  } else {
    log.warn({ mqtt: cfg.mqtt.url }, "no mqtt.adminUsername: device accounts and topic ACLs are not driven by the registry (the broker's own auth applies)");
  }
  let admission: RegistryAdmission | undefined;
  if (registry && cfg.registry.mode === "strict") {
    admission = new RegistryAdmission(registry);
    await admission.start();
    log.info({ devices: admission.size }, "registry.mode strict: readings of unknown or disabled devices are dead-lettered");
  }
  return {
    registry,
    admission,
    sync,
    async close() {
      await admission?.stop();
      await sync?.stop();
      await broker?.close();
    },
  };
}
