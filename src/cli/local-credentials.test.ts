import { afterEach, describe, expect, it } from "vitest";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config/index.js";
import { readLocalBrokerCredentials, withLocalBrokerCredentials } from "./local-credentials.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A stack dir whose mosquitto/credentials.json holds `text` with `mode`. */
function stackWith(text: string, mode = 0o600): string {
  const dir = mkdtempSync(join(tmpdir(), "shoal-creds-"));
  dirs.push(dir);
  mkdirSync(join(dir, "mosquitto"));
  const file = join(dir, "mosquitto", "credentials.json");
  writeFileSync(file, text);
  chmodSync(file, mode);
  return dir;
}

const good = JSON.stringify({
  admin: { username: "shoal-admin", password: "a-secret" },
  bridge: { username: "shoal-bridge", password: "b-secret" },
  simulator: { username: "shoal-simulator", password: "s-secret" },
});

describe("readLocalBrokerCredentials", () => {
  it("reads the three accounts stack.sh writes", () => {
    expect(readLocalBrokerCredentials(stackWith(good))).toEqual({
      admin: { username: "shoal-admin", password: "a-secret" },
      bridge: { username: "shoal-bridge", password: "b-secret" },
      simulator: { username: "shoal-simulator", password: "s-secret" },
    });
  });

  it("undefined without the file (an anonymous stack)", () => {
    const dir = mkdtempSync(join(tmpdir(), "shoal-creds-"));
    dirs.push(dir);
    expect(readLocalBrokerCredentials(dir)).toBeUndefined();
  });

  it("refuses a file other users can read, and a malformed one, naming the file and no value", () => {
    expect(() => readLocalBrokerCredentials(stackWith(good, 0o644))).toThrow(/readable by other users/);
    const bad = JSON.stringify({ admin: { username: "shoal-admin", password: "a-secret" } });
    expect(() => readLocalBrokerCredentials(stackWith(bad))).toThrow(/"bridge" needs a username and a password/);
    try {
      readLocalBrokerCredentials(stackWith(bad));
    } catch (e) {
      expect((e as Error).message).not.toContain("a-secret");
    }
    expect(() => readLocalBrokerCredentials(stackWith("{"))).toThrow(/not JSON/);
  });
});

describe("withLocalBrokerCredentials", () => {
  it("sets mqtt.username/password (bridge) and mqtt.adminUsername/adminPassword unless already set", async () => {
    const creds = readLocalBrokerCredentials(stackWith(good))!;
    const env = withLocalBrokerCredentials({ SHOAL__MQTT__PASSWORD: "mine" }, creds);
    expect(env.SHOAL__MQTT__PASSWORD).toBe("mine");
    const cfg = (await loadConfig({ env: withLocalBrokerCredentials({ SHOAL__CONSUL__URL: "" }, creds) })).config;
    expect(cfg.mqtt).toMatchObject({ username: "shoal-bridge", password: "b-secret", adminUsername: "shoal-admin", adminPassword: "a-secret" });
    expect(withLocalBrokerCredentials({ A: "1" }, undefined)).toEqual({ A: "1" });
  });
});
