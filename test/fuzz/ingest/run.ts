import { systemClock } from "../../../src/base/clock.js";
import type { Clock } from "../../../src/ports/clock.js";
import { checkAcl } from "./acl.js";
import { topicDeviceGuess } from "./arbitraries.js";
import { admissionOf, BridgeDrive, type Expected } from "./bridge-drive.js";
import { NOW_MS, type IngestInput } from "./contract.js";
import { generators } from "./generators.js";
import { checkInput, type Outcome } from "./oracle.js";
import { TOPIC_RE } from "./reference.js";

/**
 * One ingest fuzzing run: `n` inputs in chunks, each chunk split between the generators by their
 * shares; every input goes through the topic check, the broker ACL property and the codec
 * (src/domain/reading-codec.ts, checked by ./oracle.ts), and every chunk through the whole bridge
 * core (./bridge-drive.ts), which must end each message as the oracle's outcome says. Used by
 * test/fuzz/ingest.fuzz.ts (10^6 inputs) and by test/unit/fuzz/ingest.fuzz.test.ts (CI).
 */

/** Figures of one generator. */
export interface GeneratorStats {
  inputs: number;
  accepted: number;
  acceptedReadings: number;
  rejected: number;
  byCode: Record<string, number>;
  maxReasonLength: number;
  /** Topic + device pairs the ACL property was checked on (valid device ids). */
  aclChecks: number;
  /** Of those, topics the device's ACL lets it publish on. */
  aclAllowed: number;
  /** Protobuf payloads the codec rejects that protobuf-es reads as valid readings (allowed: the codec is stricter). */
  stricter: number;
  violations: number;
  crashes: number;
}

/** Figures of a run. */
export interface IngestRun {
  readonly byGenerator: Map<string, GeneratorStats>;
  /** The first violations, with what reproduces them. */
  readonly examples: string[];
  readonly bridge: { messages: number; acked: number; deadLetters: number; journalReadings: number; violations: number; rejectedByCode: Record<string, number> };
  readonly elapsedMs: number;
}

/** What to run. */
export interface IngestRunOptions {
  readonly n: number;
  readonly seed: number;
  /** Inputs per chunk (and per bridge-core drive). Default 2000. */
  readonly chunk?: number;
  /** Drive the bridge core too. Default true. */
  readonly bridge?: boolean;
  /** Most violation examples kept. Default 20. */
  readonly maxExamples?: number;
  /** Called after each chunk with the number of inputs done. */
  readonly onChunk?: (done: number) => void;
}

const DEVICE_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** The fuzzers' clock: `now` fixed (the codec's time window), real timers (the bridge's batching). */
const fixedClock: Clock = { now: () => NOW_MS, setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms), clearTimeout: (h) => systemClock.clearTimeout(h) };

const hex = (b: Uint8Array) => Buffer.from(b.subarray(0, 160)).toString("hex") + (b.length > 160 ? `… (${b.length} bytes)` : "");

/**
 * What the bridge core must do with an input the oracle judged: dead-letter an invalid topic, then
 * a device the registry refuses (./bridge-drive.ts admissionOf), then what the codec rejects; journal
 * the readings of the rest. Undefined when the oracle could not judge (a crash, already a violation).
 */
function expectedOf(input: IngestInput, out: Outcome | undefined): Expected | undefined {
  if (out === undefined) return undefined;
  const id = TOPIC_RE.exec(input.topic)?.[1];
  if (id === undefined) return { code: "invalid_topic" };
  const admission = admissionOf(id);
  if (admission !== "known") return { code: admission === "unknown" ? "unknown_device" : "device_disabled" };
  return out.accepted ? { readings: out.readings } : { code: out.code };
}

/** Runs `o.n` inputs through the properties and returns the figures (see {@link IngestRun}). */
export async function runIngest(o: IngestRunOptions): Promise<IngestRun> {
  const started = performance.now();
  const gens = generators(o.seed);
  const chunk = o.chunk ?? 2000;
  const maxExamples = o.maxExamples ?? 20;
  const byGenerator = new Map<string, GeneratorStats>(gens.map((g) => [g.name, { inputs: 0, accepted: 0, acceptedReadings: 0, rejected: 0, byCode: {}, maxReasonLength: 0, aclChecks: 0, aclAllowed: 0, stricter: 0, violations: 0, crashes: 0 }]));
  const examples: string[] = [];
  const drive = o.bridge === false ? undefined : new BridgeDrive(fixedClock);
  const bridge = { messages: 0, acked: 0, deadLetters: 0, journalReadings: 0, violations: 0, rejectedByCode: {} as Record<string, number> };
  let done = 0;
  for (let c = 0; done < o.n; c++) {
    const size = Math.min(chunk, o.n - done);
    const all: IngestInput[] = [];
    const expected: (Expected | undefined)[] = [];
    let given = 0;
    gens.forEach((g, gi) => {
      const count = gi === gens.length - 1 ? size - given : Math.round(size * g.share);
      given += count;
      if (count <= 0) return;
      const seed = (o.seed * 1_000_003 + c * 7919 + gi) | 0;
      const inputs = g.sample(seed, count);
      const s = byGenerator.get(g.name)!;
      inputs.forEach((input, i) => {
        s.inputs++;
        const checked = checkInput(input);
        const aclId = input.aclDevice ?? topicDeviceGuess(input.topic);
        let acl: string[] = [];
        if (DEVICE_ID.test(aclId)) {
          s.aclChecks++;
          try {
            const a = checkAcl(aclId, input.topic);
            acl = a.violations;
            if (a.allowed) s.aclAllowed++;
          } catch (e) {
            acl = [`ACL check threw: ${(e as Error)?.stack ?? String(e)}`];
          }
        }
        const out = checked.outcome;
        if (out?.accepted) {
          s.accepted++;
          s.acceptedReadings += out.readings;
        } else if (out) {
          s.rejected++;
          s.byCode[out.code] = (s.byCode[out.code] ?? 0) + 1;
          s.maxReasonLength = Math.max(s.maxReasonLength, out.reasonLength);
        }
        if (checked.stricterThanProtobufEs) s.stricter++;
        const violations = [...checked.violations, ...acl];
        if (violations.length > 0) {
          s.violations++;
          if (violations.some((v) => v.includes(" threw"))) s.crashes++;
          if (examples.length < maxExamples) examples.push(`[${g.name} seed ${seed} #${i}] topic ${JSON.stringify(input.topic.slice(0, 120))} profile ${input.profile} payload ${hex(input.payload)}\n    ${violations.join("\n    ")}`);
        }
        // The bridge core takes readings; replies go to the downlink (checked above).
        if (input.reply === undefined) {
          all.push(input);
          expected.push(expectedOf(input, out));
        }
      });
    });
    if (drive) {
      const d = await drive.run(all, expected);
      bridge.messages += d.messages;
      bridge.acked += d.acked;
      bridge.deadLetters += d.deadLetters;
      bridge.journalReadings += d.journalReadings;
      bridge.violations += d.violations.length;
      for (const v of d.violations) if (examples.length < maxExamples) examples.push(`[bridge core, chunk ${c}] ${v}`);
    }
    done += size;
    o.onChunk?.(done);
  }
  if (drive) bridge.rejectedByCode = drive.rejectedByCode();
  return { byGenerator, examples, bridge, elapsedMs: performance.now() - started };
}
