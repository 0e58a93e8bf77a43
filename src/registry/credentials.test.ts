import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { ConfigError } from "../config/errors.js";
import { generatePassword, hashPassword, sealPassword, sealingKeyFromEnv, unsealPassword, verifyPassword } from "./credentials.js";

describe("generatePassword", () => {
  it("makes 24 random bytes as base64url (32 characters), different every time", () => {
    const a = generatePassword();
    const b = generatePassword();
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(Buffer.from(a, "base64url")).toHaveLength(24);
    expect(a).not.toBe(b);
  });
});

describe("hashPassword", () => {
  it("writes scrypt$16384$8$1$<16-byte salt>$<32-byte hash>, salted differently each time", async () => {
    const h1 = await hashPassword("secret-1");
    const h2 = await hashPassword("secret-1");
    const m = /^scrypt\$16384\$8\$1\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(h1);
    expect(m).not.toBeNull();
    expect(Buffer.from(m![1]!, "base64")).toHaveLength(16);
    expect(Buffer.from(m![2]!, "base64")).toHaveLength(32);
    expect(h1).not.toBe(h2);
    expect(h1).not.toContain("secret-1");
  });
});

describe("verifyPassword", () => {
  it("accepts the password and refuses any other", async () => {
    const pw = generatePassword();
    const h = await hashPassword(pw);
    expect(await verifyPassword(pw, h)).toBe(true);
    expect(await verifyPassword(`${pw}x`, h)).toBe(false);
    expect(await verifyPassword("", h)).toBe(false);
  });

  it("verifies hashes made with other cost parameters (they are read from the hash)", async () => {
    const h = await hashPassword("pw");
    const [, , , , salt] = h.split("$");
    const { scryptSync } = await import("node:crypto");
    const cheap = `scrypt$1024$8$1$${salt}$${scryptSync("pw", Buffer.from(salt!, "base64"), 32, { N: 1024, r: 8, p: 1 }).toString("base64")}`;
    expect(await verifyPassword("pw", cheap)).toBe(true);
    expect(await verifyPassword("pW", cheap)).toBe(false);
  });

  it.each([
    ["empty", ""],
    ["another scheme", "bcrypt$2b$10$abc"],
    ["too few parts", "scrypt$16384$8$1$c2FsdA=="],
    ["N not a power of two", "scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA=="],
    ["N too large", `scrypt$${2 ** 24}$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==`],
    ["p too large", "scrypt$16384$8$1000$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA=="],
    ["no salt", "scrypt$16384$8$1$$aGFzaGhhc2hoYXNoaGFzaA=="],
    ["a short hash", "scrypt$16384$8$1$c2FsdHNhbHQ=$aGFzaA=="],
    ["not numbers", "scrypt$x$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA=="],
  ])("is false (no throw) for a malformed hash: %s", async (_name, stored) => {
    expect(await verifyPassword("pw", stored)).toBe(false);
  });
});

describe("sealPassword / unsealPassword", () => {
  const key = randomBytes(32);

  it("seals as an enc: value the key opens again", () => {
    const sealed = sealPassword("p@ss", key);
    expect(sealed.startsWith("enc:")).toBe(true);
    expect(sealed).not.toContain("p@ss");
    expect(unsealPassword(sealed, key)).toBe("p@ss");
  });

  it("seals nothing without a key, and nothing unseals without the right key", () => {
    expect(sealPassword("p@ss", undefined)).toBe("");
    expect(unsealPassword("", key)).toBeUndefined();
    const sealed = sealPassword("p@ss", key);
    expect(unsealPassword(sealed, undefined)).toBeUndefined();
    expect(unsealPassword(sealed, randomBytes(32))).toBeUndefined();
    expect(unsealPassword("enc:AAAA", key)).toBeUndefined();
  });
});

describe("sealingKeyFromEnv", () => {
  it("reads SHOAL_SECRET_KEY (hex or base64), undefined when unset, a ConfigError when malformed", () => {
    const key = randomBytes(32);
    expect(sealingKeyFromEnv({})).toBeUndefined();
    expect(sealingKeyFromEnv({ SHOAL_SECRET_KEY: "" })).toBeUndefined();
    expect(sealingKeyFromEnv({ SHOAL_SECRET_KEY: key.toString("base64") })?.equals(key)).toBe(true);
    expect(sealingKeyFromEnv({ SHOAL_SECRET_KEY: key.toString("hex") })?.equals(key)).toBe(true);
    expect(() => sealingKeyFromEnv({ SHOAL_SECRET_KEY: "short" })).toThrow(ConfigError);
    let message = "";
    try {
      sealingKeyFromEnv({ SHOAL_SECRET_KEY: "not-a-key-value" });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("SHOAL_SECRET_KEY");
    expect(message).not.toContain("not-a-key-value");
  });
});
