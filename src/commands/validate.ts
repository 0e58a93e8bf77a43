import { ShoalError } from "../base/errors.js";
import { DEVICE_ID_RE } from "../domain/reading-codec.js";

/** What a command may be (docs/adr/0021-device-commands.md). */
export const COMMAND_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** Largest payload (the JSON text), bytes. */
export const MAX_PAYLOAD_BYTES = 16 * 1024;
/** Shortest and longest TTL a sender may ask for. */
export const MIN_TTL_MS = 1_000;
export const MAX_TTL_MS = 7 * 86_400_000;

/** A refused command argument: `field` names it (the service answers INVALID_ARGUMENT with it). */
export class CommandInputError extends ShoalError {
  constructor(
    readonly field: string,
    readonly why: string,
  ) {
    super(`${field}: ${why}`, { code: "invalid_input", retryable: false });
    this.name = "CommandInputError";
  }
}

/** A command as a sender asked for it, checked. */
export interface CommandRequest {
  readonly deviceId: string;
  readonly name: string;
  /** Canonical JSON text of an object. */
  readonly payloadJson: string;
  readonly ttlMs: number;
}

/**
 * Check a command request: device id as in readings, name `[A-Za-z0-9_.-]{1,64}`, payload a JSON
 * object ("" = {}) of at most 16 KiB, TTL 0 (= `defaultTtlMs`) or 1 s .. 7 d. Throws CommandInputError.
 */
export function checkCommand(req: { deviceId: string; name: string; payloadJson: string; ttlMs: number }, defaultTtlMs: number): CommandRequest {
  if (req.deviceId === "") throw new CommandInputError("device_id", "required");
  if (!DEVICE_ID_RE.test(req.deviceId)) throw new CommandInputError("device_id", `must match ${DEVICE_ID_RE.source}`);
  if (req.name === "") throw new CommandInputError("name", "required");
  if (!COMMAND_NAME_RE.test(req.name)) throw new CommandInputError("name", `must match ${COMMAND_NAME_RE.source}`);
  const payloadJson = checkPayload(req.payloadJson);
  if (!Number.isSafeInteger(req.ttlMs) || req.ttlMs < 0) throw new CommandInputError("ttl_ms", "must be 0 (the default) or a positive number of ms");
  const ttlMs = req.ttlMs === 0 ? defaultTtlMs : req.ttlMs;
  if (ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) throw new CommandInputError("ttl_ms", `must be between ${MIN_TTL_MS} (1 s) and ${MAX_TTL_MS} (7 days)`);
  return { deviceId: req.deviceId, name: req.name, payloadJson, ttlMs };
}

/** The payload as canonical JSON text of an object ("" is {}); CommandInputError otherwise. */
export function checkPayload(text: string): string {
  if (text.trim() === "") return "{}";
  if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw new CommandInputError("payload_json", `larger than ${MAX_PAYLOAD_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new CommandInputError("payload_json", "not valid JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new CommandInputError("payload_json", "must be a JSON object");
  return JSON.stringify(v);
}
