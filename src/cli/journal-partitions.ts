import { connectNats } from "../adapters/nats/connection.js";
import { readJournalPartitions } from "../adapters/nats/streams.js";
import { errorMessage } from "../base/errors.js";
import { loadConfig, type LoadOptions, type ResolvedConfig, type ShoalConfig } from "../config/index.js";

/** The variable through which a followed count reaches the configuration (and its watcher). */
export const PARTITIONS_ENV = "SHOAL__NATS__PARTITIONS";

/** Sources of `nats.partitions` that mean nobody chose it: the shipped default.yaml, or the schema. */
const NOT_CHOSEN = new Set(["default.yaml", "schema"]);

/** Reads the partition count the journal of `cfg` was written with (undefined: no journal yet). */
export type JournalPartitionsReader = (cfg: ShoalConfig) => Promise<number | undefined>;

/** Logger of {@link followJournalPartitions}. */
export interface FollowLogger {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/**
 * `nats.partitions` that the deployment did not set (it is only default.yaml's) follows the journal:
 * a journal written with another count — one created while the default was 64 — is used with its
 * own count instead of refused at start (docs/adr/0009, "Partitions"). A count the deployment set
 * (an environment file, Consul, a variable) is never overridden: a differing journal is refused
 * as before, so a typo does not pass silently.
 *
 * Returns the environment to resolve the configuration with: `env` itself, or `env` plus
 * `SHOAL__NATS__PARTITIONS` with the journal's count, so a configuration reloaded later (the
 * watcher) keeps it. A journal that cannot be read (NATS not reachable yet) leaves `env` as it is;
 * the role then meets the same NATS on its own and the journal check at start still holds.
 */
export async function followJournalPartitions(
  env: Record<string, string | undefined>,
  resolved: ResolvedConfig,
  log: FollowLogger,
  read: JournalPartitionsReader = readJournalOf,
): Promise<Record<string, string | undefined>> {
  const configured = resolved.config.nats.partitions;
  if (!NOT_CHOSEN.has(resolved.sources.get("nats.partitions") ?? "schema")) return env;
  let journal: number | undefined;
  try {
    journal = await read(resolved.config);
  } catch (e) {
    log.warn({ stream: resolved.config.nats.stream, err: errorMessage(e) }, `could not read the journal's partition count; using nats.partitions ${configured}`);
    return env;
  }
  if (journal === undefined || journal === configured) return env;
  log.info(
    { stream: resolved.config.nats.stream, partitions: journal, default: configured },
    `nats.partitions is not set: using the journal's ${journal} partitions (set nats.partitions to choose; a different count is refused)`,
  );
  return { ...env, [PARTITIONS_ENV]: String(journal) };
}

async function readJournalOf(cfg: ShoalConfig): Promise<number | undefined> {
  const nc = await connectNats(cfg.nats, `shoal-journal-probe-${cfg.nodeId}`);
  try {
    return await readJournalPartitions(nc, cfg.nats.stream);
  } finally {
    await nc.close();
  }
}

/**
 * `loadConfig`, with `nats.partitions` following the journal when the deployment did not set it
 * (followJournalPartitions; the configuration is resolved again only when it changed) and `when`
 * holds for the configuration (default: always). Returns the configuration and the environment it
 * was resolved with (for the watcher).
 */
export async function loadConfigFollowingJournal(
  opts: LoadOptions & { readonly logger: FollowLogger },
  when: (cfg: ShoalConfig) => boolean = () => true,
): Promise<{ resolved: ResolvedConfig; env: Record<string, string | undefined> }> {
  const first = await loadConfig(opts);
  const env = when(first.config) ? await followJournalPartitions(opts.env, first, opts.logger) : opts.env;
  return { resolved: env === opts.env ? first : await loadConfig({ ...opts, env }), env };
}
