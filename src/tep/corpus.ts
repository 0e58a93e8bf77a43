/**
 * Reads the Tennessee Eastman Process corpus carried in the repository (test/fixtures/tep, see its
 * README: Russell, Chiang & Braatz's data, University of Illinois licence): the normal training
 * run `d00.dat` and the 22 test runs `d00_te.dat` … `d21_te.dat`, gzipped or plain. This is the only
 * part of src/tep that touches the file system; parse.ts works on texts already in memory.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { parseTepSamples, TepFormatError } from "./parse.js";
import type { TepSamples } from "./parse.js";

/** Faults of the test runs: 0 (normal) and IDV(1) … IDV(21). */
export const TEP_FAULTS: readonly number[] = Object.freeze(Array.from({ length: 22 }, (_, i) => i));

/** Samples of a test run before its fault is introduced (the fault starts after sample 160: 8 h). */
export const TEP_ONSET = 160;

/** Minutes between two samples (3-minute sampling). */
export const TEP_SAMPLE_MINUTES = 3;

/** One test run: `d<NN>_te.dat`, 960 samples, fault `fault` (0: none) from sample index TEP_ONSET on. */
export interface TepRun {
  readonly fault: number;
  readonly file: string;
  readonly data: TepSamples;
}

/** The corpus: the normal training run (500 samples) and the test runs in fault order. */
export interface TepCorpus {
  readonly dir: string;
  readonly training: TepSamples;
  readonly runs: readonly TepRun[];
}

/** The folder carried in the repository: `test/fixtures/tep` (upstream revision in its README). */
export function defaultTepDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "..", ".."), join(here, "..", "..", "..")].map((root) => join(root, "test", "fixtures", "tep"));
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

/** The text of `name` (e.g. `d01_te.dat`) in `dir`: `name.gz` gunzipped, else `name` as is. */
export function readTepText(dir: string, name: string): string {
  const gz = join(dir, `${name}.gz`);
  if (existsSync(gz)) return gunzipSync(readFileSync(gz)).toString("latin1");
  const plain = join(dir, name);
  if (existsSync(plain)) return readFileSync(plain, "latin1");
  throw new TepFormatError(`${name}: neither ${gz} nor ${plain} exists`);
}

/** Test-file name of a fault: `d01_te.dat`. */
export function testFileName(fault: number): string {
  return `d${String(fault).padStart(2, "0")}_te.dat`;
}

/**
 * Reads the training run and the test runs of `faults` (default all 22) from `dir` (default the
 * repository's fixture).
 * @throws TepFormatError when a file is missing or not 52 variables per sample.
 */
export function readTepCorpus(dir: string = defaultTepDir(), faults: readonly number[] = TEP_FAULTS): TepCorpus {
  const training = parseTepSamples(readTepText(dir, "d00.dat"), "d00.dat");
  const runs = faults.map((fault) => {
    const file = testFileName(fault);
    return { fault, file, data: parseTepSamples(readTepText(dir, file), file) };
  });
  return { dir, training, runs };
}

/**
 * Git's blob id of a file's bytes (`git hash-object`): the fixture's README lists upstream's, so a
 * decompressed file can be checked byte for byte against the upstream commit.
 */
export function gitBlobId(bytes: Uint8Array): string {
  return createHash("sha1").update(`blob ${bytes.byteLength}\0`).update(bytes).digest("hex");
}
