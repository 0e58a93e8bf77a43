/**
 * `--keep` of bench:query: the loaded ClickHouse data directory survives the run and is reused by
 * the next one with the same dataset. The harness always starts ClickHouse in a fresh temp dir, so
 * the kept `data/` (metadata and parts) is moved in while that server is stopped and restarted on
 * it (harness `restart()`: same ports, same dir), and moved out again before `cleanup()`. Moves are
 * renames (same filesystem): instant at any size.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServiceHandle } from "../../harness/index.js";

export const KEEP_DIR = join(tmpdir(), "shoal-bench-query-keep");

/** What a kept directory holds: the dataset's parameters and where its time range lies. */
export interface KeptDataset {
  readonly database: string;
  readonly devices: number;
  readonly perDevice: number;
  readonly days: number;
  readonly seed: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
  readonly analyses: number;
  readonly loadLine: string;
}

const marker = () => join(KEEP_DIR, "dataset.json");

/** The kept dataset when it matches `want` (devices, perDevice, days, seed), else undefined. */
export function keptDataset(want: Pick<KeptDataset, "devices" | "perDevice" | "days" | "seed">): KeptDataset | undefined {
  if (!existsSync(marker()) || !existsSync(join(KEEP_DIR, "data"))) return undefined;
  const k = JSON.parse(readFileSync(marker(), "utf8")) as KeptDataset;
  return k.devices === want.devices && k.perDevice === want.perDevice && k.days === want.days && k.seed === want.seed ? k : undefined;
}

/** Put the kept data under the running harness ClickHouse `ch` and restart it there. */
export async function adoptKept(ch: ServiceHandle): Promise<void> {
  await ch.stop();
  const data = join(ch.dataDir, "data");
  rmSync(data, { recursive: true, force: true });
  renameSync(join(KEEP_DIR, "data"), data);
  await ch.restart();
}

/** Move `ch`'s data out (ClickHouse stopped first) and record what it holds. */
export async function keepData(ch: ServiceHandle, k: KeptDataset): Promise<void> {
  await ch.stop();
  rmSync(KEEP_DIR, { recursive: true, force: true });
  mkdirSync(KEEP_DIR, { recursive: true });
  renameSync(join(ch.dataDir, "data"), join(KEEP_DIR, "data"));
  writeFileSync(marker(), JSON.stringify(k, null, 2));
}
