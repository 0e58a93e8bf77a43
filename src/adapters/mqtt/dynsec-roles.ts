/**
 * The topic ACLs Shoal keeps in Mosquitto's dynamic security plugin (docs/adr/0019-device-identity.md).
 * Mosquitto 2.0 (Debian 12 ships 2.0.11) substitutes no `%u`/`%c` in dynamic-security ACLs (2.1
 * does), so every device has a role of its own, `shoal-device-<id>`, with its id spelled out.
 */

/** The kinds of ACL entry of the plugin. */
export type AclType = "publishClientSend" | "publishClientReceive" | "subscribePattern" | "subscribeLiteral" | "unsubscribePattern" | "unsubscribeLiteral";

/** One ACL entry of a role. */
export interface Acl {
  readonly acltype: AclType;
  readonly topic: string;
  readonly allow: boolean;
  readonly priority?: number;
}

/** Prefix of the role of each device (the rest is the device id = its username). */
export const DEVICE_ROLE_PREFIX = "shoal-device-";
/** The role of the bridge's account(s). */
export const BRIDGE_ROLE = "shoal-bridge";
/** The role of gateway accounts (the demo's simulated fleet, the load generator). */
export const GATEWAY_ROLE = "shoal-gateway";

/** A device id (= broker username), as the registry allows: no MQTT wildcard or separator can appear. */
export const DEVICE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The role name of device `id`. */
export function deviceRoleName(id: string): string {
  return DEVICE_ROLE_PREFIX + id;
}

/**
 * What device `id` may do: publish under `devices/<id>/` (readings on `devices/<id>/readings`,
 * command replies on `devices/<id>/commands/reply`), subscribe to its own command topic
 * `devices/<id>/commands` only, and receive what is published there. Nothing else (the plugin's
 * default ACL access denies publishing and subscribing).
 */
export function deviceAcls(id: string): Acl[] {
  return [
    { acltype: "publishClientSend", topic: `devices/${id}/#`, allow: true },
    { acltype: "subscribePattern", topic: `devices/${id}/commands`, allow: true },
    { acltype: "publishClientReceive", topic: `devices/${id}/commands`, allow: true },
  ];
}

/**
 * The bridge: readings of every device, by shared subscription (`$share/<group>/devices/+/readings`:
 * the plugin checks the whole filter, `$share/<group>/` included) or plain; command replies the
 * same way; the broker's `$SYS` counters (src/adapters/mqtt/broker-watch.ts); and publishing
 * commands to devices.
 */
export const BRIDGE_ACLS: readonly Acl[] = [
  { acltype: "subscribePattern", topic: "$share/+/devices/+/readings", allow: true },
  { acltype: "subscribePattern", topic: "devices/+/readings", allow: true },
  { acltype: "publishClientReceive", topic: "devices/+/readings", allow: true },
  { acltype: "subscribePattern", topic: "$share/+/devices/+/commands/reply", allow: true },
  { acltype: "subscribePattern", topic: "devices/+/commands/reply", allow: true },
  { acltype: "publishClientReceive", topic: "devices/+/commands/reply", allow: true },
  { acltype: "subscribePattern", topic: "$SYS/#", allow: true },
  { acltype: "publishClientReceive", topic: "$SYS/#", allow: true },
  { acltype: "publishClientSend", topic: "devices/+/commands", allow: true },
];

/**
 * A gateway speaks for many devices over its own connections (the demo's simulated fleet and the
 * load generator): it may publish any device's readings and command replies and receive any
 * device's commands. A credential for trusted infrastructure only: a device never gets one.
 */
export const GATEWAY_ACLS: readonly Acl[] = [
  { acltype: "publishClientSend", topic: "devices/+/readings", allow: true },
  { acltype: "publishClientSend", topic: "devices/+/commands/reply", allow: true },
  { acltype: "subscribePattern", topic: "devices/+/commands", allow: true },
  { acltype: "subscribePattern", topic: "$share/+/devices/+/commands", allow: true },
  { acltype: "publishClientReceive", topic: "devices/+/commands", allow: true },
];

/**
 * The plugin's default access for what no role names: no publishing, no subscribing (so a client
 * without a role can do nothing); receiving and unsubscribing stay allowed (they only ever concern
 * subscriptions a role allowed).
 */
export const DEFAULT_ACL_ACCESS = [
  { acltype: "publishClientSend", allow: false },
  { acltype: "publishClientReceive", allow: true },
  { acltype: "subscribe", allow: false },
  { acltype: "unsubscribe", allow: true },
] as const;

/** Do two ACL lists grant the same (order and default priority 0 ignored)? */
export function sameAcls(a: readonly Acl[], b: readonly Acl[]): boolean {
  const key = (x: Acl): string => `${x.acltype} ${x.allow ? 1 : 0} ${x.priority ?? 0} ${x.topic}`;
  const ka = a.map(key).sort();
  const kb = b.map(key).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}
