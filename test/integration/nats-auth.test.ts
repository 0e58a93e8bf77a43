import { jetstreamManager } from "@nats-io/jetstream";
import { nkeys } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../src/adapters/nats/connection.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { encryptSecret, generateSecretKey, parseSecretKey } from "../../src/config/secrets.js";
import { startMosquitto, startNats, type ServiceHandle } from "../harness/index.js";
import { exited, pipelineEnv, spawnRole, waitFor } from "../support/pipeline.js";

/**
 * NATS credentials from configuration (issue 17, "NATS user/password or nkey auth passed through
 * config"): real nats-server processes that require them. Shoal's connection takes `nats.user` +
 * `nats.password`, `nats.token` or `nats.nkeySeed` (each may be an `enc:` secret); a client without
 * them, or with wrong ones, is refused by the server; a whole `shoal bridge` process runs on them,
 * and one given a wrong password stops with a clear error that does not carry the password.
 */
const PASSWORD = `natspw-${Math.random().toString(36).slice(2)}`;
const TOKEN = `natstok-${Math.random().toString(36).slice(2)}`;
const user = nkeys.createUser();
const SEED = new TextDecoder().decode(user.getSeed());
const PUBLIC = user.getPublicKey();

let users: ServiceHandle;
let tokenServer: ServiceHandle;
let mqtt: ServiceHandle;

beforeAll(async () => {
  [users, tokenServer, mqtt] = await Promise.all([
    // JetStream is on in the default account, which these users belong to.
    startNats({ authorization: `authorization { users = [ { user: "shoal", password: "${PASSWORD}" }, { nkey: "${PUBLIC}" } ] }` }),
    startNats({ authorization: `authorization { token: "${TOKEN}" }` }),
    startMosquitto(),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([users?.cleanup(), tokenServer?.cleanup(), mqtt?.cleanup()]);
});

/** Connects, asks JetStream for the account's limits (an authenticated round trip), closes. */
async function works(target: Parameters<typeof connectNats>[0]): Promise<boolean> {
  const nc = await connectNats(target, "nats-auth-test");
  try {
    const info = await (await jetstreamManager(nc)).getAccountInfo();
    return info.limits !== undefined;
  } finally {
    await nc.close();
  }
}

/** The error a connection attempt ends with (the server's refusal). */
const refusal = (target: Parameters<typeof connectNats>[0]) => connectNats(target, "nats-auth-test").then(
  async (nc) => {
    await nc.close();
    return "connected";
  },
  (e: Error) => e.message,
);

describe("NATS credentials from config (real nats-server requiring them)", () => {
  it("user + password, nkey seed and token connect; none or wrong ones are refused by the server", async () => {
    expect(await works({ url: users.url, user: "shoal", password: PASSWORD })).toBe(true);
    expect(await works({ url: users.url, nkeySeed: SEED })).toBe(true);
    expect(await works({ url: tokenServer.url, token: TOKEN })).toBe(true);

    expect(await refusal(users.url)).toMatch(/authorization/i);
    expect(await refusal({ url: users.url, user: "shoal", password: `${PASSWORD}x` })).toMatch(/authorization/i);
    const stranger = new TextDecoder().decode(nkeys.createUser().getSeed());
    expect(await refusal({ url: users.url, nkeySeed: stranger })).toMatch(/authorization/i);
    expect(await refusal({ url: tokenServer.url, token: "not-the-token" })).toMatch(/authorization/i);
  });

  it("takes them as enc: secrets from the environment, and refuses half or two kinds of credentials", () => {
    const key = generateSecretKey();
    const env = { SHOAL_SECRET_KEY: key, SHOAL__NATS__USER: "shoal", SHOAL__NATS__PASSWORD: encryptSecret(PASSWORD, parseSecretKey(key)) };
    const { config } = resolveConfig({ env });
    expect({ user: config.nats.user, password: config.nats.password }).toEqual({ user: "shoal", password: PASSWORD });

    expect(() => resolveConfig({ env: { SHOAL__NATS__USER: "shoal" } })).toThrow(/nats\.user and nats\.password go together/);
    expect(() => resolveConfig({ env: { SHOAL__NATS__TOKEN: TOKEN, SHOAL__NATS__NKEY_SEED: SEED } })).toThrow(/one kind of NATS credentials/);
    expect(() => resolveConfig({ env: { SHOAL__NATS__NKEY_SEED: "not-a-seed" } })).toThrow(/NATS user seed/);
  });

  it("a shoal bridge process runs on an enc: nkey seed; with a wrong password it stops with a clear error and no password in its output", async () => {
    const key = generateSecretKey();
    const enc = (s: string) => encryptSecret(s, parseSecretKey(key));
    const base = pipelineEnv({ nats: users.url, mqtt: mqtt.url, clickhouse: "http://127.0.0.1:1" }, { SHOAL_SECRET_KEY: key, SHOAL__LOG__LEVEL: "info", SHOAL__ADMIN__PORT: "0" });

    let out = "";
    const ok = spawnRole("bridge", { ...base, SHOAL__NATS__NKEY_SEED: enc(SEED) }, (s) => (out += s));
    try {
      await waitFor(async () => out, (o) => o.includes("bridge started") || ok.exitCode !== null, 60_000, "the bridge to start");
      expect(out).toContain("bridge started");
    } finally {
      ok.kill("SIGTERM");
      await exited(ok);
    }
    expect(out).not.toContain(SEED);

    const wrong = `${PASSWORD}-wrong`;
    let bad = "";
    const refused = spawnRole("bridge", { ...base, SHOAL__NATS__USER: "shoal", SHOAL__NATS__PASSWORD: enc(wrong) }, (s) => (bad += s));
    const code = await Promise.race([exited(refused), new Promise<"running">((r) => setTimeout(() => r("running"), 45_000))]);
    if (code === "running") refused.kill("SIGKILL");
    expect(code).not.toBe(0);
    expect(code).not.toBe("running");
    expect(bad).toMatch(/NATS at nats:\/\/127\.0\.0\.1:\d+ refused the credentials \(nats\.user\/password\): Authorization Violation/);
    expect(bad).not.toContain(wrong);
    expect(bad).not.toContain(PASSWORD);
  });
});
