/** A dead letter: what was rejected, at which stage, and why. */
export interface DeadLetterInput {
  readonly stage: string;
  readonly code: string;
  readonly reason: string;
  /** Where it came from: MQTT topic or NATS subject. */
  readonly source: string;
  readonly payload: Uint8Array;
}

/** A message an actor could not take (an OutDeadLetter of the runtime), as a dead letter of `stage`. */
export function actorDeadLetter(d: { readonly stage: string; readonly code: string; readonly reason: string; readonly envelope: { readonly actorType: string; readonly actorId: string; readonly msg: unknown } }): DeadLetterInput {
  return { stage: d.stage, code: d.code, reason: d.reason, source: `actor ${d.envelope.actorType}/${d.envelope.actorId}`, payload: utf8.encode(JSON.stringify(d.envelope.msg)) };
}

const utf8 = new TextEncoder();

/** Largest payload kept in a dead letter, bytes (the rest is cut and marked). */
export const DEAD_LETTER_PAYLOAD_LIMIT = 4096;

/** JSON form of a dead letter on shoal.dlq.<stage>. */
export function deadLetterJson(dl: DeadLetterInput, atMs: number): string {
  const p = dl.payload.length > DEAD_LETTER_PAYLOAD_LIMIT ? dl.payload.subarray(0, DEAD_LETTER_PAYLOAD_LIMIT) : dl.payload;
  return JSON.stringify({
    stage: dl.stage,
    code: dl.code,
    reason: dl.reason,
    source: dl.source,
    payloadBase64: Buffer.from(p).toString("base64"),
    payloadBytes: dl.payload.length,
    truncated: p.length < dl.payload.length,
    atMs,
  });
}
