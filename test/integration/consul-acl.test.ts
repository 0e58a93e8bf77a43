import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consulLeases } from "../../src/adapters/consul/index.js";
import { run as config } from "../../src/cli/config.command.js";
import { encryptSecret, generateSecretKey, parseSecretKey } from "../../src/config/secrets.js";
import { startConsul, type ServiceHandle } from "../harness/index.js";

/**
 * Consul ACL tokens from configuration (issue 17, "Consul ACL tokens passed through config"): a real
 * Consul 1.8 with ACLs on and `default_policy = "deny"`. `consul.token` (here an `enc:` secret) is
 * what Shoal's KV, sessions and locks send: with it `shoal config set/get` and the cluster's leases
 * work; without it Consul refuses them (403) and Shoal says so, never printing the token.
 */
const TOKEN = randomUUID();
let consul: ServiceHandle;

beforeAll(async () => {
  consul = await startConsul({ aclMasterToken: TOKEN });
}, 90_000);

afterAll(async () => {
  await consul?.cleanup();
});

async function shoalConfig(env: Record<string, string>, ...argv: string[]) {
  let out = "";
  let err = "";
  const code = await config(argv, { env, stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

describe("Consul with ACLs (default deny) and consul.token from config", () => {
  const key = generateSecretKey();
  // No ClickHouse: the audit log of `config set` only warns.
  const base = { SHOAL_ENV: "test", SHOAL__CONSUL__URL: "", SHOAL__CLICKHOUSE__URL: "http://127.0.0.1:1", SHOAL_SECRET_KEY: key, USER: "tester" };
  const withToken = () => ({ ...base, SHOAL__CONSUL__URL: consul.url, SHOAL__CONSUL__TOKEN: encryptSecret(TOKEN, parseSecretKey(key)) });
  const without = () => ({ ...base, SHOAL__CONSUL__URL: consul.url });

  it("shoal config set/get work with the token; without it Consul refuses and the token never shows", async () => {
    const set = await shoalConfig(withToken(), "set", "detector.threshold", "0.81");
    expect(set).toMatchObject({ code: 0, out: "shoal/test/config.yaml: version 1 written (set detector.threshold)\n" });
    expect((await shoalConfig(withToken(), "get", "detector.threshold")).out.trim()).toBe("0.81");

    const refused = await shoalConfig(without(), "set", "detector.threshold", "0.5");
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/403|permission denied|ACL not found/i);
    const all = [set, refused].map((r) => r.out + r.err).join("");
    expect(all).not.toContain(TOKEN);
  });

  it("the cluster's sessions and locks work with the token and are refused without it", async () => {
    const ok = consulLeases({ url: consul.url, token: TOKEN }, "shoal-acl");
    const id = await ok.sessions.create({ name: "acl-test", ttlMs: 10_000 });
    expect(await ok.locks.acquire(`${ok.prefix}/leases/p000`, id, "node-a")).toBe(true);

    const anon = consulLeases({ url: consul.url }, "shoal-acl");
    await expect(anon.sessions.create({ name: "acl-test", ttlMs: 10_000 })).rejects.toMatchObject({ reason: "rejected", status: 403 });
    await expect(anon.locks.acquire(`${ok.prefix}/leases/p001`, id, "node-b")).rejects.toMatchObject({ reason: "rejected", status: 403 });
  });
});
