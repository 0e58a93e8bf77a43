import { ShoalError } from "../../base/errors.js";
import type { Logger } from "../../observability/logger.js";
import type { BrokerAccounts } from "../../ports/device-registry.js";
import type { MqttTlsConnectOptions } from "./tls-options.js";
import { connectDynsec, credentialsAccepted, type DynsecCommand, type DynsecResponse } from "./dynsec-control.js";
import { BRIDGE_ACLS, BRIDGE_ROLE, DEFAULT_ACL_ACCESS, DEVICE_ID, DEVICE_ROLE_PREFIX, GATEWAY_ACLS, GATEWAY_ROLE, deviceAcls, deviceRoleName, sameAcls, type Acl } from "./dynsec-roles.js";

/** A service account Shoal keeps on the broker (not a device). */
export interface ServiceAccount {
  readonly username: string;
  readonly password: string;
  /** `bridge`: the MQTT → JetStream bridge; `gateway`: publishes for many devices (simulator, load generator). */
  readonly role: "bridge" | "gateway";
}

/** A device account as the broker has it. */
export interface BrokerDeviceState {
  readonly id: string;
  readonly enabled: boolean;
  /** The registry's credentialsRotatedAtMs of the password the account has, when it was recorded. */
  readonly credentialsRotatedAtMs: number | undefined;
}

/** The broker's device and service accounts in Mosquitto's dynamic security plugin. */
export interface DynsecAccounts extends BrokerAccounts {
  /**
   * Create or update a device's account (see {@link BrokerAccounts.putDevice}); with
   * `credentialsRotatedAtMs` the account records which password it has (its text description), so a
   * later reconcile can tell a stale password from the current one ({@link deviceStates}).
   * Changing the password of an existing account disconnects whoever is connected with it.
   */
  putDevice(id: string, password: string, enabled: boolean, credentialsRotatedAtMs?: number): Promise<void>;
  /** Every device account with its enabled flag and recorded credentials version. */
  deviceStates(): Promise<BrokerDeviceState[]>;
  /** One device account's state; undefined when there is none (or the account is not a device's). */
  deviceState(id: string): Promise<BrokerDeviceState | undefined>;
  /** Create or bring up to date the bridge and gateway roles and these accounts (a password is reset only when the broker refuses it). */
  ensureServiceAccounts(accounts: ReadonlyArray<ServiceAccount>): Promise<void>;
  /**
   * The policy every device account relies on: the plugin's default ACL access denies publishing
   * and subscribing, so only a role's ACLs grant anything. (Mosquitto 2.0 substitutes no `%u` in
   * dynamic-security ACLs: each device's own role is made by {@link putDevice}.)
   */
  ensureDeviceRole(): Promise<void>;
}

/** Options of {@link createDynsecAccounts}. */
export interface DynsecAccountsOptions {
  readonly url: string;
  /** The dynamic-security admin. */
  readonly username: string;
  readonly password: string;
  /** TLS of an `mqtts://` URL (CA, client cert): {@link mqttTlsOptions} of `mqtt.tls`. */
  readonly tls?: MqttTlsConnectOptions | Record<string, never>;
  readonly clientId?: string;
  /** Bound on each command's answer (and the first connection). Default 10 s. */
  readonly timeoutMs?: number;
  readonly log?: Logger;
}

const PAGE = 1000;
const ROTATED = /(?:^|\s)shoal:rotated=(\d{1,16})(?:\s|$)/;

interface ClientInfo {
  readonly username: string;
  readonly disabled?: boolean;
  readonly textdescription?: string;
  readonly roles?: ReadonlyArray<{ rolename: string }>;
}

/**
 * Drives Mosquitto's dynamic security plugin over MQTT 5 (`$CONTROL/dynamic-security/v1`) as its
 * admin, so accounts change live, with no broker restart or signal, wherever the broker runs. Every
 * method is idempotent and reads before it writes: in Mosquitto 2.0 every change rewrites the
 * plugin's whole JSON file (time in proportion to the number of accounts, the broker serving no one
 * meanwhile) and disconnects the clients it concerns, so nothing is changed that is already right.
 * Errors are ShoalErrors carrying the broker's text ("timeout"/"unavailable" ones are retryable).
 */
export async function createDynsecAccounts(o: DynsecAccountsOptions): Promise<DynsecAccounts> {
  const control = await connectDynsec(o);
  const run = (commands: readonly DynsecCommand[]): Promise<DynsecResponse[]> => control.run(commands);

  const putDevice = async (id: string, password: string, enabled: boolean, rotatedAtMs?: number): Promise<void> => {
    checkId(id);
    if (password === "") throw new ShoalError(`device ${id}: an empty password`, { code: "invalid_input" });
    const rolename = deviceRoleName(id);
    const [c, r] = await run([
      { command: "getClient", username: id },
      { command: "getRole", rolename },
    ]);
    const commands: DynsecCommand[] = [];
    const acls = deviceAcls(id);
    if (r!.error === undefined) {
      if (!sameAcls(roleAcls(r!), acls)) commands.push({ command: "modifyRole", rolename, acls });
    } else if (r!.error === "Role not found") commands.push({ command: "createRole", rolename, acls });
    else throw brokerError(`device ${id}: getRole`, r!.error);
    const textdescription = rotatedAtMs === undefined ? "shoal device" : `shoal device shoal:rotated=${rotatedAtMs}`;
    if (c!.error === "Client not found") {
      commands.push({ command: "createClient", username: id, password, textdescription, roles: [{ rolename }] });
      // In the same message: the broker runs it before any other client's packet, so the account is never usable enabled.
      if (!enabled) commands.push({ command: "disableClient", username: id });
    } else if (c!.error !== undefined) {
      throw brokerError(`device ${id}: getClient`, c!.error);
    } else {
      const client = clientOf(c!);
      const foreign = (client.roles ?? []).map((x) => x.rolename).filter((n) => n !== rolename);
      if (foreign.length > 0) {
        throw new ShoalError(`device ${id}: the broker account "${id}" is not a device's (it has role ${foreign.join(", ")}); not changed`, { code: "conflict" });
      }
      // One change, one file save; it disconnects whoever is connected with the old password.
      commands.push({ command: "modifyClient", username: id, password, textdescription, roles: [{ rolename }] });
      if (enabled === Boolean(client.disabled)) commands.push({ command: enabled ? "enableClient" : "disableClient", username: id });
    }
    check(`device ${id}`, commands, await run(commands));
  };

  const setEnabled = async (id: string, enabled: boolean): Promise<void> => {
    checkId(id);
    const [c] = await run([{ command: "getClient", username: id }]);
    if (c!.error !== undefined) {
      throw c!.error === "Client not found" ? new ShoalError(`device ${id}: no broker account`, { code: "not_found" }) : brokerError(`device ${id}: getClient`, c!.error);
    }
    const client = clientOf(c!);
    if (!isDevice(client)) throw new ShoalError(`device ${id}: the broker account "${id}" is not a device's; not changed`, { code: "conflict" });
    if (enabled !== Boolean(client.disabled)) return; // already so: no file save, nobody disconnected
    const commands = [{ command: enabled ? "enableClient" : "disableClient", username: id }];
    check(`device ${id}`, commands, await run(commands));
  };

  const removeDevice = async (id: string): Promise<void> => {
    checkId(id);
    const [c] = await run([{ command: "getClient", username: id }]);
    const commands: DynsecCommand[] = [];
    if (c!.error === undefined) {
      if (!isDevice(clientOf(c!))) throw new ShoalError(`device ${id}: the broker account "${id}" is not a device's; not removed`, { code: "conflict" });
      commands.push({ command: "deleteClient", username: id });
    } else if (c!.error !== "Client not found") throw brokerError(`device ${id}: getClient`, c!.error);
    commands.push({ command: "deleteRole", rolename: deviceRoleName(id) });
    const responses = await run(commands);
    // Gone already is fine: removing is idempotent.
    check(`device ${id}`, commands, responses.map((x) => (x.error === "Role not found" || x.error === "Client not found" ? { command: x.command } : x)));
  };

  const deviceStates = async (): Promise<BrokerDeviceState[]> => {
    const out: BrokerDeviceState[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const [l] = await run([{ command: "listClients", verbose: true, count: PAGE, offset }]);
      if (l!.error !== undefined) throw brokerError("listClients", l!.error);
      const clients = ((l!.data as { clients?: ClientInfo[] } | undefined)?.clients ?? []);
      for (const client of clients) {
        if (!isDevice(client)) continue;
        const m = ROTATED.exec(client.textdescription ?? "");
        out.push({ id: client.username, enabled: !client.disabled, credentialsRotatedAtMs: m ? Number(m[1]) : undefined });
      }
      if (clients.length < PAGE) return out;
    }
  };

  const deviceState = async (id: string): Promise<BrokerDeviceState | undefined> => {
    checkId(id);
    const [c] = await run([{ command: "getClient", username: id }]);
    if (c!.error === "Client not found") return undefined;
    if (c!.error !== undefined) throw brokerError(`device ${id}: getClient`, c!.error);
    const client = clientOf(c!);
    if (!isDevice(client)) return undefined;
    const m = ROTATED.exec(client.textdescription ?? "");
    return { id, enabled: !client.disabled, credentialsRotatedAtMs: m ? Number(m[1]) : undefined };
  };

  const ensureRole = async (rolename: string, acls: readonly Acl[]): Promise<void> => {
    const [r] = await run([{ command: "getRole", rolename }]);
    let commands: DynsecCommand[] = [];
    if (r!.error === "Role not found") commands = [{ command: "createRole", rolename, acls }];
    else if (r!.error !== undefined) throw brokerError(`getRole ${rolename}`, r!.error);
    else if (!sameAcls(roleAcls(r!), acls)) commands = [{ command: "modifyRole", rolename, acls }];
    check(`role ${rolename}`, commands, await run(commands));
  };

  return {
    putDevice,
    setEnabled,
    removeDevice,
    async listDevices() {
      return (await deviceStates()).map((d) => d.id);
    },
    deviceStates,
    deviceState,
    async ensureDeviceRole() {
      const [d] = await run([{ command: "getDefaultACLAccess" }]);
      if (d!.error !== undefined) throw brokerError("getDefaultACLAccess", d!.error);
      const have = ((d!.data as { acls?: Array<{ acltype: string; allow: boolean }> } | undefined)?.acls ?? []);
      const differ = DEFAULT_ACL_ACCESS.filter((want) => have.find((h) => h.acltype === want.acltype)?.allow !== want.allow);
      const commands = differ.length === 0 ? [] : [{ command: "setDefaultACLAccess", acls: DEFAULT_ACL_ACCESS }];
      check("default ACL access", commands, await run(commands));
    },
    async ensureServiceAccounts(accounts) {
      if (accounts.some((a) => a.role === "bridge")) await ensureRole(BRIDGE_ROLE, BRIDGE_ACLS);
      if (accounts.some((a) => a.role === "gateway")) await ensureRole(GATEWAY_ROLE, GATEWAY_ACLS);
      for (const a of accounts) {
        if (a.username === o.username) throw new ShoalError(`service account ${a.username} is the dynamic-security admin`, { code: "invalid_input" });
        if (a.password === "") throw new ShoalError(`service account ${a.username}: an empty password`, { code: "invalid_input" });
        const rolename = a.role === "bridge" ? BRIDGE_ROLE : GATEWAY_ROLE;
        const [c] = await run([{ command: "getClient", username: a.username }]);
        const commands: DynsecCommand[] = [];
        if (c!.error === "Client not found") {
          commands.push({ command: "createClient", username: a.username, password: a.password, textdescription: `shoal ${a.role}`, roles: [{ rolename }] });
        } else if (c!.error !== undefined) {
          throw brokerError(`service account ${a.username}: getClient`, c!.error);
        } else {
          const client = clientOf(c!);
          if (isDevice(client)) throw new ShoalError(`service account ${a.username}: the broker account is a device's`, { code: "conflict" });
          const roles = (client.roles ?? []).map((x) => x.rolename);
          if (roles.length !== 1 || roles[0] !== rolename) commands.push({ command: "modifyClient", username: a.username, roles: [{ rolename }] });
          if (client.disabled) commands.push({ command: "enableClient", username: a.username });
          // The plugin never returns a password: try it, and reset it only when refused (a reset disconnects the account's users).
          if (client.disabled || !(await credentialsAccepted(o.url, a.username, a.password, o.timeoutMs, o.tls))) {
            commands.push({ command: "setClientPassword", username: a.username, password: a.password });
          }
        }
        check(`service account ${a.username}`, commands, await run(commands));
      }
    },
    close: () => control.close(),
  };
}

function checkId(id: string): void {
  if (!DEVICE_ID.test(id)) throw new ShoalError(`not a device id: ${JSON.stringify(id.slice(0, 140))}`, { code: "invalid_input" });
}

function clientOf(r: DynsecResponse): ClientInfo {
  return ((r.data as { client?: ClientInfo } | undefined)?.client ?? { username: "" });
}

/** A device account: its username is a device id and its one role is that device's role. */
function isDevice(c: ClientInfo): boolean {
  const roles = c.roles ?? [];
  return DEVICE_ID.test(c.username) && roles.length === 1 && roles[0]!.rolename === DEVICE_ROLE_PREFIX + c.username;
}

function roleAcls(r: DynsecResponse): Acl[] {
  return ((r.data as { role?: { acls?: Acl[] } } | undefined)?.role?.acls ?? []);
}

function brokerError(what: string, error: string): ShoalError {
  return new ShoalError(`dynsec: ${what}: ${error}`, { code: "storage_rejected" });
}

/** Throws the first failed command's error (with the broker's text). */
function check(what: string, commands: readonly DynsecCommand[], responses: readonly DynsecResponse[]): void {
  if (responses.length !== commands.length) throw new ShoalError(`dynsec: ${what}: ${commands.length} commands, ${responses.length} answers`, { code: "internal", retryable: true });
  const failed = responses.find((x) => x.error !== undefined);
  if (failed !== undefined) throw brokerError(`${what}: ${failed.command}`, failed.error!);
}
