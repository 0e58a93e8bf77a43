/**
 * Tennessee Eastman Process benchmark of the device actor (issue 19, deliverable 5: the
 * multi-sensor labelled yardstick beside NAB).
 *
 *   npm run bench:tep -- [--data DIR] [--threshold 0.9] [--params '{"restPoints":0}']
 *
 * The data default to the copy carried in the repository (test/fixtures/tep, Russell, Chiang &
 * Braatz, see its README); `--data` or the TEP_DIR env var name another folder holding d00.dat and
 * d00_te.dat … d21_te.dat (plain or gzipped). `--params` overrides detector parameters (JSON), to
 * try settings; the default is the shipped set.
 *
 * Each test run is one device with 52 metrics per reading, fed through the real device actor logic
 * with shipped defaults (createOfflineDevice): first d00.dat (500 normal samples, the literature's
 * training phase), then the test run, 3 minutes apart. Prints, per fault, FDR / FAR / detection
 * delay for the reading's score and for the per-metric maximum (no joint model), beside the
 * published PCA T² / Q rates (src/tep/published.ts: recalled, not checked; see there) and a PCA
 * T² / Q monitor reproduced on the same files (src/tep/pca.ts).
 */
import { resolveDetectorParams } from "../../src/detector/index.js";
import type { DetectorParams } from "../../src/detector/index.js";
import { defaultTepDir, readTepCorpus } from "../../src/tep/index.js";
import { printTepBenchmark } from "../../src/tep/index.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
  return v;
}

const dir = arg("data", process.env["TEP_DIR"] ?? defaultTepDir());
const threshold = Number(arg("threshold", "0.9"));
if (!(threshold > 0 && threshold <= 1)) throw new Error(`--threshold must be in (0, 1], got ${threshold}`);
const detectorParams = JSON.parse(arg("params", "{}")) as Partial<DetectorParams>;
resolveDetectorParams(detectorParams); // throws naming a bad field

const corpus = readTepCorpus(dir);
console.log(`data: ${dir}${Object.keys(detectorParams).length > 0 ? `; detector params ${JSON.stringify(detectorParams)}` : "; shipped defaults"}`);
printTepBenchmark((l) => console.log(l), { corpus, settings: { threshold, detectorParams } });
