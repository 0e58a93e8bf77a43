import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { CALLER } from "../access/index.js";
import { errorMessage } from "../base/errors.js";
import type { BrokerAccounts } from "../ports/device-registry.js";
import { generatePassword, hashPassword, sealPassword } from "../registry/credentials.js";

/** The steps every DeviceService write shares: who calls, new credentials, registry and broker errors. */

/** Who makes a change: the caller's token name, "anonymous" when the server checks no tokens. */
export function callerName(ctx: HandlerContext): string {
  return ctx.values.get(CALLER)?.name ?? "anonymous";
}

/** A new password, with what the registry stores of it: the hash (verification) and the sealed form (broker rebuilds). */
export interface MintedPassword {
  readonly password: string;
  readonly passwordHash: string;
  readonly sealedPassword: string;
}

/** A freshly generated password, hashed and sealed with `secretKey` ("" sealed when there is none). */
export async function mintPassword(secretKey: Buffer | undefined): Promise<MintedPassword> {
  const password = generatePassword();
  return { password, passwordHash: await hashPassword(password), sealedPassword: sealPassword(password, secretKey) };
}

/** The registry's error `code` ("not_found", "already_exists", "conflict"), if it has one. */
export function registryCode(e: unknown): string | undefined {
  const code = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

/**
 * The registry's refusals as the caller should see them: not_found NOT_FOUND, already_exists
 * ALREADY_EXISTS, conflict (stale expected_revision) ABORTED; undefined for anything else.
 */
export function registryError(id: string, e: unknown): ConnectError | undefined {
  switch (registryCode(e)) {
    case "not_found":
      return new ConnectError(`device ${id}: not found`, Code.NotFound);
    case "already_exists":
      return new ConnectError(`device ${id} exists already`, Code.AlreadyExists);
    case "conflict":
      return new ConnectError(`device ${id} was changed meanwhile (not at expected_revision, or changed on every try): read it again and retry`, Code.Aborted);
    default:
      return undefined;
  }
}

/** `p`, with the registry's refusals mapped by {@link registryError}. */
export async function inRegistry<T>(id: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw registryError(id, e) ?? e;
  }
}

/**
 * Apply a registry change to the broker (when Shoal drives one). A failure is UNAVAILABLE with
 * `what` (what was stored and what the caller should do) and the broker's reason, the password
 * `secret` (if any) blanked out of it: passwords never reach a message or a log.
 */
export async function toBroker(broker: BrokerAccounts | undefined, what: string, secret: string | undefined, f: (b: BrokerAccounts) => Promise<void>): Promise<void> {
  if (broker === undefined) return;
  try {
    await f(broker);
  } catch (e) {
    let why = errorMessage(e);
    if (secret !== undefined && secret !== "") why = why.split(secret).join("<redacted>");
    throw new ConnectError(`${what} (broker: ${why.slice(0, 200)})`, Code.Unavailable);
  }
}
