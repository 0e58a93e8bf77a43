import { createBridgeCore, admissionRejection, type BridgeCore } from "../../../src/bridge/bridge.js";
import { decodeJournalReadings } from "../../../src/domain/reading-codec.js";
import type { EventPublisher } from "../../../src/ports/journal.js";
import type { Clock } from "../../../src/ports/clock.js";
import type { DeviceAdmission } from "../../../src/ports/device-registry.js";
import { PROFILES, type IngestInput } from "./contract.js";
import { CODES } from "./oracle.js";

type DeadLetter = Parameters<EventPublisher["deadLetter"]>[0];

/**
 * The whole bridge core (src/bridge/bridge.ts: topic, admission, codec, reordering, journal
 * batching, acknowledgements) driven with fuzz inputs, over a journal and a dead-letter stream
 * that take everything at once. The property: every MQTT message is acknowledged exactly once,
 * after its readings are in the journal or its dead letter (with a contract code, a reason, the
 * topic and the payload) is published — none is lost, none stays unanswered, nothing throws — and
 * it ends as the contract says: the messages the oracle rejects (or the registry refuses) are
 * dead-lettered with that code, the others' readings are journaled, every one of them.
 * One core per limit profile; the clock is the fuzzers' fixed `now` (the codec's time window).
 */

/** What the contract says the bridge does with a message: journal its readings, or dead-letter it with a code. */
export type Expected = { readonly readings: number } | { readonly code: string };

/** What a chunk of inputs did in the bridge core. */
export interface DriveResult {
  readonly messages: number;
  readonly acked: number;
  readonly deadLetters: number;
  readonly journalReadings: number;
  readonly violations: string[];
}

/** Devices the drive's registry knows: every id but these is admitted; `blocked-*` are unknown, `off-*` disabled. */
export function admissionOf(id: string): DeviceAdmission {
  return id.startsWith("blocked") ? "unknown" : id.startsWith("off") ? "disabled" : "known";
}

/** A bridge core per profile, reused chunk after chunk (its counters add up across chunks). */
export class BridgeDrive {
  private readonly cores: { core: BridgeCore; journal: number[]; dead: DeadLetter[] }[];

  constructor(clock: Clock) {
    this.cores = PROFILES.map((p, i) => {
      const journal: number[] = [];
      const dead: DeadLetter[] = [];
      const core = createBridgeCore(
        { partitions: 4, limits: p.limits, msgIdPrefix: `fuzz-${i}`, clock, admit: (id) => admissionRejection(id, admissionOf(id)) },
        async (_subject, data) => {
          journal.push(decodeJournalReadings(data).length);
          return { seq: journal.length, duplicate: false };
        },
        async (dl) => {
          dead.push(dl);
        },
      );
      return { core, journal, dead };
    });
  }

  /**
   * Hands every input to its profile's core, waits until they settle, and checks the
   * acknowledgements and the outcomes against `expected` (per input; undefined: not checked).
   */
  async run(inputs: readonly IngestInput[], expected: readonly (Expected | undefined)[]): Promise<DriveResult> {
    const violations: string[] = [];
    const acks = new Uint8Array(inputs.length);
    for (const c of this.cores) {
      c.journal.length = 0;
      c.dead.length = 0;
    }
    inputs.forEach((input, i) => {
      try {
        this.cores[input.profile]!.core.handle(input.topic, input.payload, { ack: () => void acks[i]!++ });
      } catch (e) {
        violations.push(`bridge core threw on input ${i}: ${(e as Error)?.stack ?? String(e)}`);
      }
    });
    for (const c of this.cores) await c.core.drain();
    let acked = 0;
    for (let i = 0; i < acks.length; i++) {
      if (acks[i] === 1) acked++;
      else violations.push(`message ${i} on ${JSON.stringify(inputs[i]!.topic.slice(0, 80))} was acknowledged ${acks[i]} times`);
    }
    // The dead letters the contract expects, by payload (the core dead-letters the very bytes it was given).
    const want = new Map<Uint8Array, string[]>();
    let wantReadings = 0;
    let unchecked = false;
    expected.forEach((e, i) => {
      if (e === undefined) unchecked = true;
      else if ("readings" in e) wantReadings += e.readings;
      else want.set(inputs[i]!.payload, [...(want.get(inputs[i]!.payload) ?? []), e.code]);
    });
    let deadLetters = 0;
    let journalReadings = 0;
    for (const c of this.cores) {
      deadLetters += c.dead.length;
      for (const n of c.journal) journalReadings += n;
      for (const dl of c.dead) {
        if (dl.stage !== "bridge" || !CODES.has(dl.code) || dl.reason.trim() === "") violations.push(`dead letter without a contract code or reason: ${dl.code}: ${dl.reason}`);
        if (dl.payload === undefined || dl.source === undefined) violations.push(`dead letter ${dl.code} lacks its payload or topic`);
        const codes = dl.payload === undefined ? undefined : want.get(dl.payload);
        const at = codes?.indexOf(dl.code) ?? -1;
        if (at >= 0) codes!.splice(at, 1);
        else if (!unchecked) violations.push(`dead letter ${dl.code} (${dl.reason.slice(0, 120)}) on ${JSON.stringify(dl.source?.slice(0, 80))}: the contract expects ${codes?.length ? codes.join(", ") : "its readings journaled"}`);
      }
      if (c.core.held() !== 0) violations.push(`${c.core.held()} readings still held after drain`);
    }
    if (!unchecked) {
      const missing = [...want.values()].reduce((n, codes) => n + codes.length, 0);
      if (missing > 0) violations.push(`${missing} messages the contract rejects were not dead-lettered`);
      if (journalReadings !== wantReadings) violations.push(`${journalReadings} readings journaled, the contract accepts ${wantReadings}`);
    }
    return { messages: inputs.length, acked, deadLetters, journalReadings, violations };
  }

  /** The cores' dead letters by code, summed over the run (admission and contract codes). */
  rejectedByCode(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { core } of this.cores) for (const [code, n] of Object.entries(core.stats.rejectedByCode)) out[code] = (out[code] ?? 0) + n;
    return out;
  }
}
