import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { ENC_PREFIX, SECRET_KEY_ENV, decryptSecret, encryptSecret, parseSecretKey } from "../config/secrets.js";

/**
 * Device credentials (docs/adr/0019-device-identity.md): Shoal generates every device password,
 * hands it out once, and keeps a salted scrypt hash (to verify) plus, when SHOAL_SECRET_KEY is set,
 * the password sealed with it (to rebuild a broker account the broker lost without a rotation).
 * Nothing here logs or returns a password except to its caller.
 */

/** scrypt cost parameters of new hashes (RFC 7914's interactive-login recommendation; ~50 ms, 16 MiB). */
export const SCRYPT_PARAMS = { N: 16_384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const PASSWORD_BYTES = 24;
/** Most memory one scrypt call may use (a stored hash with larger parameters fails to verify). */
const MAX_SCRYPT_MEM = 64 * 1024 * 1024;

/** A fresh device password: 24 random bytes as base64url (32 characters, no padding). */
export function generatePassword(): string {
  return randomBytes(PASSWORD_BYTES).toString("base64url");
}

/** `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>` of `password` with a random 16-byte salt. */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p } = SCRYPT_PARAMS;
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(password, salt, HASH_BYTES, { N, r, p, maxmem: MAX_SCRYPT_MEM });
  return `scrypt$${N}$${r}$${p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/**
 * Does `password` match `stored` (a {@link hashPassword} string, with whatever cost parameters it
 * was made with)? Compared in constant time; false for a malformed hash, never a throw.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map((s) => (/^[0-9]{1,9}$/.test(s) ? Number(s) : NaN)) as [number, number, number];
  const salt = Buffer.from(parts[4]!, "base64");
  const want = Buffer.from(parts[5]!, "base64");
  // Bounded cost: a corrupted or hostile stored hash can't make one check take minutes.
  if (!(N > 1 && N <= 2 ** 20 && (N & (N - 1)) === 0 && r >= 1 && r <= 32 && p >= 1 && p <= 16)) return false;
  if (salt.length === 0 || want.length < 16) return false;
  try {
    const got = await scryptAsync(password, salt, want.length, { N, r, p, maxmem: MAX_SCRYPT_MEM });
    return timingSafeEqual(got, want);
  } catch {
    return false;
  }
}

/**
 * `password` encrypted with the secret key (an `enc:` value, AES-256-GCM, the same format as
 * encrypted configuration values), or "" when there is no key: then a broker account the broker
 * lost can only be restored by rotating the device's credentials.
 */
export function sealPassword(password: string, key: Buffer | undefined): string {
  return key === undefined ? "" : encryptSecret(password, key);
}

/** The password of a {@link sealPassword} value; `undefined` when none was sealed, no key, or the wrong key. */
export function unsealPassword(sealed: string, key: Buffer | undefined): string | undefined {
  if (key === undefined || !sealed.startsWith(ENC_PREFIX)) return undefined;
  return decryptSecret(sealed, key);
}

/**
 * The key passwords are sealed with: SHOAL_SECRET_KEY from `env` (the key of `enc:` configuration
 * values), `undefined` when unset. Throws a ConfigError naming the variable (never its value) when
 * it is set but malformed.
 */
export function sealingKeyFromEnv(env: Readonly<Record<string, string | undefined>>): Buffer | undefined {
  const raw = env[SECRET_KEY_ENV];
  return raw === undefined || raw.trim() === "" ? undefined : parseSecretKey(raw);
}

function scryptAsync(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}
