import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** One MQTT account of the local stack. */
export interface LocalAccount {
  readonly username: string;
  readonly password: string;
}

/**
 * The MQTT accounts `deploy/local/stack.sh` generated on the local broker's first start
 * (`<stackDir>/mosquitto/credentials.json`, mode 0600): the dynamic-security admin (Shoal drives
 * device accounts with it: mqtt.adminUsername/adminPassword), the bridge (mqtt.username/password)
 * and the simulator (a gateway credential: publishes for every simulated device).
 */
export interface LocalBrokerCredentials {
  readonly admin: LocalAccount;
  readonly bridge: LocalAccount;
  readonly simulator: LocalAccount;
}

/**
 * Reads the local stack's broker credentials; `undefined` when the stack has none (its Mosquitto
 * runs anonymous, or was never started from `stackDir`). Throws an Error naming the file (never a
 * value from it) when it is malformed or readable by other users (group/other permission bits set).
 */
export function readLocalBrokerCredentials(stackDir: string): LocalBrokerCredentials | undefined {
  const file = join(stackDir, "mosquitto", "credentials.json");
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) throw new Error(`${file} is readable by other users: chmod 600 it (it holds the broker's passwords)`);
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not JSON`);
  }
  const account = (name: string): LocalAccount => {
    const a = (doc as Record<string, unknown> | null)?.[name] as Record<string, unknown> | undefined;
    if (typeof a?.username !== "string" || typeof a.password !== "string" || a.username === "" || a.password === "") {
      throw new Error(`${file}: "${name}" needs a username and a password`);
    }
    return { username: a.username, password: a.password };
  };
  return { admin: account("admin"), bridge: account("bridge"), simulator: account("simulator") };
}

/** The local stack's directory, as deploy/local/stack.sh picks it: `$SHOAL_STACK_DIR`, else `<repo>/.shoal/stack`. */
export function localStackDir(env: Readonly<Record<string, string | undefined>>): string {
  const forced = env.SHOAL_STACK_DIR;
  return forced !== undefined && forced !== "" ? forced : fileURLToPath(new URL("../../.shoal/stack", import.meta.url));
}

/**
 * `env` plus the configuration keys the local stack's accounts fill in, as `SHOAL__*` variables
 * (so they show as `env:` sources, values redacted): mqtt.username/password = the bridge,
 * mqtt.adminUsername/adminPassword = the dynamic-security admin. A key already set in `env` wins.
 * `creds` undefined: `env` unchanged.
 */
export function withLocalBrokerCredentials(env: Readonly<Record<string, string | undefined>>, creds: LocalBrokerCredentials | undefined): Record<string, string | undefined> {
  if (creds === undefined) return { ...env };
  const add: Record<string, string> = {
    SHOAL__MQTT__USERNAME: creds.bridge.username,
    SHOAL__MQTT__PASSWORD: creds.bridge.password,
    SHOAL__MQTT__ADMIN_USERNAME: creds.admin.username,
    SHOAL__MQTT__ADMIN_PASSWORD: creds.admin.password,
  };
  const out: Record<string, string | undefined> = { ...env };
  for (const [k, v] of Object.entries(add)) if (out[k] === undefined || out[k] === "") out[k] = v;
  return out;
}
