import fc from "fast-check";
import { arbAclInput, arbJsonInput, arbProtoInput, arbReplyInput, arbTopicInput, arbValidInput } from "./arbitraries.js";
import type { IngestInput } from "./contract.js";
import { mutateBytes, Rng } from "./mutator.js";

/**
 * The ingest fuzzers' generators: four fast-check arbitraries and the raw-bytes mutator over a
 * corpus of valid payloads. Each makes `n` inputs from a seed, deterministically (the same seed
 * gives the same inputs), so a violation is reproduced from the seed and the chunk it came from.
 */
export interface Generator {
  readonly name: string;
  /** Share of the inputs of a run. */
  readonly share: number;
  sample(seed: number, n: number): IngestInput[];
}

const fromArbitrary = (name: string, share: number, arb: fc.Arbitrary<IngestInput>): Generator => ({
  name,
  share,
  sample: (seed, n) => fc.sample(arb, { seed, numRuns: n }),
});

/** The mutator's corpus: valid payloads of both forms, one reading and batches, on their topics. */
export function corpusOf(seed: number, n = 2000): IngestInput[] {
  return fc.sample(arbValidInput, { seed, numRuns: n });
}

/** Raw-bytes mutations of the corpus (bit flips, interesting bytes, inserts, deletes, truncation, splicing), on the entry's topic. */
export function mutatorGenerator(corpus: readonly IngestInput[], share: number): Generator {
  const payloads = corpus.map((c) => c.payload);
  return {
    name: "raw-bytes mutator",
    share,
    sample(seed, n) {
      const rng = new Rng(seed * 2654435761);
      const out: IngestInput[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const base = rng.pick(corpus);
        const payload = mutateBytes(rng, [base.payload, ...(rng.below(4) === 0 ? [rng.pick(payloads)] : [])]);
        out[i] = { topic: base.topic, payload, profile: rng.below(2) };
      }
      return out;
    },
  };
}

/** Every generator with its share of a run. */
export function generators(seed: number): Generator[] {
  return [
    fromArbitrary("json (fast-check)", 0.28, arbJsonInput),
    fromArbitrary("protobuf (fast-check)", 0.2, arbProtoInput),
    fromArbitrary("topic (fast-check)", 0.1, arbTopicInput),
    fromArbitrary("acl (fast-check)", 0.1, arbAclInput),
    fromArbitrary("reply (fast-check)", 0.04, arbReplyInput),
    mutatorGenerator(corpusOf(seed), 0.28),
  ];
}
