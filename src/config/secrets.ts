import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { redactUrlPasswords } from "../base/url-credentials.js";
import { ConfigError } from "./errors.js";
import { isSecretPath } from "./schema.js";

/** Prefix of encrypted configuration values: `enc:<base64(iv[12] | tag[16] | ciphertext)>`. */
export const ENC_PREFIX = "enc:";
/** Name of the environment variable holding the AES-256-GCM key (32 bytes, base64 or hex). */
export const SECRET_KEY_ENV = "SHOAL_SECRET_KEY";
/** Placeholder printed instead of a secret value. */
export const REDACTED = "[redacted]";

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Decodes the secret key given as 64 hex characters or base64 of 32 bytes.
 * Throws a ConfigError naming the variable, never its value.
 */
export function parseSecretKey(raw: string): Buffer {
  const s = raw.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(s)) key = Buffer.from(s, "hex");
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) key = Buffer.from(s, "base64");
  if (!key || key.length !== 32) {
    throw new ConfigError([
      { path: SECRET_KEY_ENV, rule: "must be 32 bytes encoded as 64 hex characters or base64" },
    ]);
  }
  return key;
}

/** Generates a fresh random key, base64-encoded, suitable for SHOAL_SECRET_KEY. */
export function generateSecretKey(): string {
  return randomBytes(32).toString("base64");
}

/** Encrypts `plaintext` with AES-256-GCM into an `enc:` value. */
export function encryptSecret(plaintext: string, key: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return ENC_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ct]).toString("base64");
}

/** Decrypts an `enc:` value; returns `undefined` when the key is wrong or the value corrupted. */
export function decryptSecret(value: string, key: Buffer): string | undefined {
  try {
    const raw = Buffer.from(value.slice(ENC_PREFIX.length), "base64");
    if (raw.length < IV_BYTES + TAG_BYTES) return undefined;
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}

/**
 * Returns a deep copy of `config` with every secret replaced by `[redacted]`: values of keys
 * named like a secret (password, token, secret, apiKey, ...), values at `extraSecretPaths`
 * (e.g. paths that were `enc:` encrypted), and passwords embedded in URLs. Empty and unset
 * secrets stay as they are so an operator can see that they are unset.
 */
export function redact<T>(config: T, extraSecretPaths: Iterable<string> = []): T {
  const extra = new Set(extraSecretPaths);
  const walk = (v: unknown, path: string): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`));
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, path ? `${path}.${k}` : k);
      return out;
    }
    if (v === undefined || v === null || v === "") return v;
    if (extra.has(path) || isSecretPath(path)) return REDACTED;
    if (typeof v === "string") {
      if (v.startsWith(ENC_PREFIX)) return REDACTED;
      return redactUrlPasswords(v, "***");
    }
    return v;
  };
  return walk(config, "") as T;
}
