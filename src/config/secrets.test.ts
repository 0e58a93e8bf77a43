import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { run } from "../cli/config.command.js";
import { serializeError } from "../base/errors.js";
import { ConfigError, decryptSecret, encryptSecret, generateSecretKey, parseSecretKey, redact, resolveConfig } from "./index.js";

const KEY_B64 = Buffer.alloc(32, 7).toString("base64");
const KEY_HEX = Buffer.alloc(32, 7).toString("hex");
const OTHER_KEY = Buffer.alloc(32, 9).toString("base64");
const SECRET = "hunter2-Sup3r";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "shoal-secrets-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Everything an error could leak through: message, stack, inspect, JSON, cross-thread form. */
function everyRendering(err: unknown): string {
  return [String(err), (err as Error).stack, inspect(err, { depth: 10 }), JSON.stringify(err), JSON.stringify(serializeError(err))].join("\n");
}

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("AES-256-GCM enc: values", () => {
  it("round-trip with a base64 or a hex key", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(decryptSecret(encryptSecret(s, parseSecretKey(KEY_B64)), parseSecretKey(KEY_HEX))).toBe(s);
      }),
      { numRuns: 200 },
    );
  });

  it("are randomised (same plaintext, different ciphertext) and authenticated", () => {
    const key = parseSecretKey(KEY_B64);
    const a = encryptSecret(SECRET, key);
    expect(a).toMatch(/^enc:[A-Za-z0-9+/=]+$/);
    expect(encryptSecret(SECRET, key)).not.toBe(a);
    expect(decryptSecret(a, parseSecretKey(OTHER_KEY))).toBeUndefined();
    const tampered = `enc:${Buffer.from(Buffer.from(a.slice(4), "base64").map((b, i) => (i === 40 ? b ^ 1 : b))).toString("base64")}`;
    expect(decryptSecret(tampered, key)).toBeUndefined();
  });

  it("generated keys are valid", () => {
    expect(parseSecretKey(generateSecretKey())).toHaveLength(32);
  });

  it("are decrypted during resolution, wherever they appear", () => {
    const key = parseSecretKey(KEY_B64);
    writeFileSync(join(dir, "default.yaml"), `mqtt:\n  password: ${encryptSecret(SECRET, key)}\nnats:\n  url: ${encryptSecret("nats://u:pw@h:1", key)}\n`);
    const r = resolveConfig({ env: { SHOAL_SECRET_KEY: KEY_B64 }, configDir: dir });
    expect(r.config.mqtt.password).toBe(SECRET);
    expect(r.config.nats.url).toBe("nats://u:pw@h:1");
    expect([...r.encryptedPaths].sort()).toEqual(["mqtt.password", "nats.url"]);
  });

  it("without the key: an exact error that names the path, never the value", () => {
    const enc = encryptSecret(SECRET, parseSecretKey(KEY_B64));
    writeFileSync(join(dir, "default.yaml"), `mqtt:\n  password: ${enc}\n`);
    const err = thrown(() => resolveConfig({ env: {}, configDir: dir }));
    expect(err.message).toBe("invalid configuration:\n  mqtt.password: encrypted value but SHOAL_SECRET_KEY is not set (from default.yaml)");
    const wrong = thrown(() => resolveConfig({ env: { SHOAL_SECRET_KEY: OTHER_KEY }, configDir: dir }));
    expect(wrong.message).toBe("invalid configuration:\n  mqtt.password: cannot decrypt (wrong SHOAL_SECRET_KEY or corrupted value) (from default.yaml)");
    expect(everyRendering(wrong)).not.toContain(enc.slice(4, 20));
  });

  it("a malformed key is reported without echoing it", () => {
    writeFileSync(join(dir, "default.yaml"), `mqtt:\n  password: enc:AAAA\n`);
    const err = thrown(() => resolveConfig({ env: { SHOAL_SECRET_KEY: "not-a-key-but-secret-ish" }, configDir: dir }));
    expect(err.message).toBe("invalid configuration:\n  SHOAL_SECRET_KEY: must be 32 bytes encoded as 64 hex characters or base64");
    expect(everyRendering(err)).not.toContain("not-a-key-but-secret-ish");
  });
});

describe("secrets never leak", () => {
  it("ConfigError on or next to a secret field does not echo its value", () => {
    const cases: Array<Record<string, unknown>> = [
      { mqtt: { password: 987654321 } },
      { mqtt: { password: SECRET, bogus: 1 } },
      { mqtt: { pasword: SECRET } },
      { clickhouse: { password: [SECRET] } },
      { consul: { token: { value: SECRET } } },
      { nats: { url: `nats://user:${SECRET}@host:bad` } },
      { redis: { url: `http://:${SECRET}@h` } },
    ];
    for (const doc of cases) {
      const err = thrown(() => resolveConfig({ env: {}, configDir: dir, consulLayer: doc }));
      const all = everyRendering(err);
      expect(all, JSON.stringify(Object.keys(doc))).not.toContain(SECRET);
      expect(all).not.toContain("987654321");
    }
  });

  it("redact() hides secret keys at any depth, enc: values, extra paths and URL passwords", () => {
    const out = redact(
      {
        mqtt: { password: SECRET, username: "u" },
        consul: { token: SECRET },
        clickhouse: { password: "" },
        gateway: { providers: { openai: { apiKey: SECRET, baseUrl: "http://x" } } },
        nats: { url: `nats://u:${SECRET}@a:1,nats://b:2` },
        redis: { url: `redis://:${SECRET}@r:6379/0` },
        detector: { params: { blob: `enc:${SECRET}`, plain: SECRET } },
      },
      ["detector.params.plain"],
    );
    expect(JSON.stringify(out)).not.toContain(SECRET);
    expect(out).toEqual({
      mqtt: { password: "[redacted]", username: "u" },
      consul: { token: "[redacted]" },
      clickhouse: { password: "" },
      gateway: { providers: { openai: { apiKey: "[redacted]", baseUrl: "http://x" } } },
      nats: { url: "nats://u:***@a:1,nats://b:2" },
      redis: { url: "redis://:***@r:6379/0" },
      detector: { params: { blob: "[redacted]", plain: "[redacted]" } },
    });
  });

  it("`shoal config print` and `get` show sources but never secrets", async () => {
    const key = parseSecretKey(KEY_B64);
    writeFileSync(join(dir, "default.yaml"), `clickhouse:\n  password: ${encryptSecret(SECRET, key)}\ndetector:\n  params:\n    hook: ${encryptSecret(`x-${SECRET}`, key)}\n`);
    const env = { SHOAL_SECRET_KEY: KEY_B64, SHOAL_CONFIG_DIR: dir, SHOAL__MQTT__PASSWORD: SECRET, SHOAL__CONSUL__TOKEN: SECRET };
    for (const argv of [["print"], ["print", "--json"], ["get", "mqtt"], ["get", "mqtt.password"], ["get", "detector.params.hook"], ["get", "clickhouse"]]) {
      let out = "";
      let errOut = "";
      const code = await run(argv, { env, stdout: (s) => (out += s), stderr: (s) => (errOut += s) });
      expect(code, `${argv.join(" ")}: ${errOut}`).toBe(0);
      expect(out + errOut, argv.join(" ")).not.toContain(SECRET);
      expect(out + errOut).not.toContain(KEY_B64);
    }
    let printed = "";
    await run(["print"], { env, stdout: (s) => (printed += s), stderr: () => {} });
    expect(printed).toMatch(/^mqtt\.password +=\s+"\[redacted\]"\s+# env:SHOAL__MQTT__PASSWORD$/m);
    expect(printed).toMatch(/^clickhouse\.password +=\s+"\[redacted\]"\s+# default\.yaml$/m);
    expect(printed).toMatch(/^detector\.params\.hook +=\s+"\[redacted\]"\s+# default\.yaml$/m);
    expect(printed).toMatch(/^nats\.partitions +=\s+16\s+# schema$/m);
  });

  it("`shoal config encrypt` output decrypts to the input", async () => {
    let out = "";
    expect(await run(["encrypt", SECRET], { env: { SHOAL_SECRET_KEY: KEY_HEX }, stdout: (s) => (out += s), stderr: () => {} })).toBe(0);
    expect(decryptSecret(out.trim(), parseSecretKey(KEY_B64))).toBe(SECRET);
    let err = "";
    expect(await run(["encrypt", SECRET], { env: {}, stdout: () => {}, stderr: (s) => (err += s) })).toBe(1);
    expect(err).toBe("SHOAL_SECRET_KEY is not set (make one with `shoal config encrypt --generate-key`)\n");
  });
});
