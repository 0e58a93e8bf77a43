import { afterEach, describe, expect, it } from "vitest";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config/index.js";
import { localStackEnv, readLocalStackCredentials, withLocalStackCredentials, type ConfiguredServices, type LocalStackCredentials } from "./local-stack-credentials.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const creds: LocalStackCredentials = {
  nats: { urls: ["nats://127.0.0.1:14222"], user: "shoal", password: "n-secret" },
  clickhouse: { url: "http://127.0.0.1:18123", username: "default", password: "c-secret" },
  redis: { url: "redis://127.0.0.1:16379", password: "r-secret" },
  consul: { url: "http://127.0.0.1:18500", token: "t-secret" },
};

/** A stack dir whose credentials.json holds `text` with `mode`. */
function stackWith(text: string, mode = 0o600): string {
  const dir = mkdtempSync(join(tmpdir(), "shoal-stack-creds-"));
  dirs.push(dir);
  const file = join(dir, "credentials.json");
  writeFileSync(file, text);
  chmodSync(file, mode);
  return dir;
}

/** What the stack's own defaults configure: every service at the stack's URL, no credentials. */
const atStack: ConfiguredServices = {
  nats: { url: ["nats://127.0.0.1:14222"] },
  clickhouse: { url: "http://127.0.0.1:18123", password: "" },
  redis: { url: "redis://127.0.0.1:16379" },
  consul: { url: "http://127.0.0.1:18500" },
};

describe("readLocalStackCredentials", () => {
  it("reads what stack.sh writes", () => {
    expect(readLocalStackCredentials(stackWith(JSON.stringify(creds)))).toEqual(creds);
  });

  it("undefined without the file (a stack never started, or open)", () => {
    expect(readLocalStackCredentials(join(tmpdir(), "shoal-no-such-stack"))).toBeUndefined();
  });

  it("refuses a file others can read, naming the file and no secret", () => {
    const dir = stackWith(JSON.stringify(creds), 0o644);
    expect(() => readLocalStackCredentials(dir)).toThrow(/readable by other users: chmod 600/);
    try {
      readLocalStackCredentials(dir);
    } catch (e) {
      expect((e as Error).message).not.toMatch(/secret/);
    }
  });

  it.each([
    ["not JSON", "{", /not JSON/],
    ["no NATS URLs", JSON.stringify({ ...creds, nats: { ...creds.nats, urls: [] } }), /"nats" needs "urls"/],
    ["empty password", JSON.stringify({ ...creds, redis: { ...creds.redis, password: "" } }), /"redis" needs a non-empty "password"/],
    ["missing service", JSON.stringify({ ...creds, consul: undefined }), /"consul" needs a non-empty "url"/],
  ])("refuses a malformed file: %s", (_name, text, message) => {
    expect(() => readLocalStackCredentials(stackWith(text))).toThrow(message);
  });
});

describe("withLocalStackCredentials", () => {
  it("adds every service's credentials when the configuration points at the stack", () => {
    expect(withLocalStackCredentials({ A: "1" }, creds, atStack)).toEqual({
      A: "1",
      SHOAL__NATS__USER: "shoal",
      SHOAL__NATS__PASSWORD: "n-secret",
      SHOAL__CLICKHOUSE__USERNAME: "default",
      SHOAL__CLICKHOUSE__PASSWORD: "c-secret",
      SHOAL__REDIS__PASSWORD: "r-secret",
      SHOAL__CONSUL__TOKEN: "t-secret",
    });
  });

  it("matches endpoints, not spellings: localhost, a trailing path, a comma list", () => {
    const env = withLocalStackCredentials({}, { ...creds, nats: { ...creds.nats, urls: ["nats://127.0.0.1:14222", "nats://127.0.0.1:14223"] } }, {
      nats: { url: "nats://localhost:14223, nats://127.0.0.1:14222" },
      clickhouse: { url: "http://localhost:18123/", password: "" },
      redis: { url: "redis://localhost:16379/0" },
      consul: { url: "http://localhost:18500" },
    });
    expect(Object.keys(env).sort()).toEqual(["SHOAL__CLICKHOUSE__PASSWORD", "SHOAL__CLICKHOUSE__USERNAME", "SHOAL__CONSUL__TOKEN", "SHOAL__NATS__PASSWORD", "SHOAL__NATS__USER", "SHOAL__REDIS__PASSWORD"]);
  });

  it("leaves alone a service pointed elsewhere (another port or host, one NATS URL not the stack's)", () => {
    const env = withLocalStackCredentials({}, creds, {
      nats: { url: ["nats://127.0.0.1:14222", "nats://10.0.0.5:4222"] },
      clickhouse: { url: "http://127.0.0.1:8123", password: "" },
      redis: { url: "redis://10.0.0.5:16379" },
      consul: {},
    });
    expect(env).toEqual({});
  });

  it("leaves alone a service with credentials of its own (config or environment)", () => {
    const env = withLocalStackCredentials({ SHOAL__REDIS__PASSWORD: "mine" }, creds, {
      nats: { url: ["nats://127.0.0.1:14222"], token: "tok" },
      clickhouse: { url: "http://127.0.0.1:18123", password: "enc:abc" },
      redis: { url: "redis://127.0.0.1:16379", password: "mine" },
      consul: { url: "http://127.0.0.1:18500", token: "own" },
    });
    expect(env).toEqual({ SHOAL__REDIS__PASSWORD: "mine" });
  });

  it("no credentials: env unchanged", () => {
    expect(withLocalStackCredentials({ A: "1" }, undefined, atStack)).toEqual({ A: "1" });
  });
});

describe("localStackEnv", () => {
  it("gives a role on the default configuration the stack's credentials, as redacted env sources", async () => {
    const dir = stackWith(JSON.stringify(creds));
    const env = localStackEnv({ SHOAL_STACK_DIR: dir, SHOAL_ENV: "dev" });
    const resolved = await loadConfig({ env: { ...env, SHOAL__CONSUL__URL: "" } });
    expect(resolved.config.nats.user).toBe("shoal");
    expect(resolved.config.nats.password).toBe("n-secret");
    expect(resolved.config.clickhouse.password).toBe("c-secret");
    expect(resolved.sources.get("clickhouse.password")).toBe("env:SHOAL__CLICKHOUSE__PASSWORD");
    // dev.yaml points Consul at the stack; redis.url is unset by default, so no Redis password.
    expect(env.SHOAL__CONSUL__TOKEN).toBe("t-secret");
    expect(env.SHOAL__REDIS__PASSWORD).toBeUndefined();
  });

  it("an invalid configuration is left for the command to report", () => {
    const dir = stackWith(JSON.stringify(creds));
    expect(localStackEnv({ SHOAL_STACK_DIR: dir, SHOAL__NATS__PARTITIONS: "zero" })).toEqual({ SHOAL_STACK_DIR: dir, SHOAL__NATS__PARTITIONS: "zero" });
  });
});
