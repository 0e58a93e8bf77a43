import type { BatchEffects } from "../ports/actor-host.js";
import type { Clock } from "../ports/clock.js";
import type { JournalReader } from "../ports/journal-reader.js";
import type { MetricsRegistry } from "../ports/metrics.js";
import type { SnapshotStore } from "../ports/snapshot-store.js";
import type { RuntimeOptions } from "./options.js";
import type { DecoderSpec, LogicSpec } from "./worker-protocol.js";

/** Dependencies and options of a worker-pool host. */
export interface WorkerPoolHostOptions extends RuntimeOptions {
  /** Actor logic modules, loaded in every worker by specifier. */
  readonly logics: readonly LogicSpec[];
  readonly snapshots: SnapshotStore;
  /** Journal access for recovery (worker crash, resetPartition, recover). */
  readonly journal?: JournalReader;
  /** Worker threads. Default: os.availableParallelism(). */
  readonly workers?: number;
  /** Main-thread clock (snapshot flush cadence). Workers use the system clock. */
  readonly clock?: Clock;
  readonly metrics?: MetricsRegistry;
  /** Effects of timer-driven turns (see InlineHostOptions.onEffects). */
  readonly onEffects?: (effects: BatchEffects) => void;
  /** See InlineHostOptions.commitMode. */
  readonly commitMode?: "explicit" | "on-return";
  /**
   * How workers load TypeScript: "tsx" registers tsx's ESM hooks in each worker (tests, tsx
   * runs), "none" for compiled JS. Default: "tsx" when this module itself is a .ts file.
   */
  readonly tsLoader?: "tsx" | "none";
  /** Extra execArgv for workers (default: none; the tsx hooks are registered by the bootstrap). */
  readonly execArgv?: readonly string[];
  /** Most rounds of cross-worker sends resolved inside one deliver. Default 8. */
  readonly maxSendRounds?: number;
  /** Journal decoder loaded in every worker; required by `deliverJournal`. */
  readonly decoder?: DecoderSpec;
  /**
   * Young-generation size of each worker's V8 heap in MiB (`resourceLimits.maxYoungGenerationSizeMb`).
   * Most of what a batch allocates (decoded readings, envelopes, rows) dies young; a larger young
   * generation means fewer scavenges and less of it promoted and collected later by mark-sweep.
   * Costs up to this much memory per worker. 0 = V8's default. Default DEFAULT_YOUNG_GENERATION_MB.
   */
  readonly youngGenerationMb?: number;
}

/**
 * Default `youngGenerationMb`. V8's own default for a worker is 48 (a new space of at most 32 MiB);
 * 64 lets the new space grow to 64 MiB, i.e. up to 32 MiB more per worker. Measured on the journal
 * path (device actor, 2 workers on 2 busy cores, interleaved runs): 16 was slower, 64 best or equal
 * (+11 % readings/s and CPU per reading in the cleanest run), 128/256 not better; noise ~±15 %.
 */
export const DEFAULT_YOUNG_GENERATION_MB = 64;
