/**
 * The command line of `shoal detect`: its usage text and options, and the device settings of
 * --params/--threshold checked by the device actor's own validator (so a setting the platform would
 * refuse is refused here too, with the same message).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { checkDeviceSettings } from "../../actors/device/device-settings.js";
import { defaultDeviceSettings } from "../../actors/device/index.js";
import type { DeviceSettings } from "../../actors/device/index.js";
import { UsageError } from "./io.js";

/** The usage text (printed by --help and after a usage error). */
export const DETECT_USAGE = `usage: shoal detect [FILE|-] [--format csv|json] [--out FILE] [--params JSON|FILE] [--threshold X]
                   [--time-column NAME] [--metrics a,b] [--device-id ID]
       shoal detect FILE... --out-dir DIR [--threads N] [the options above but --out]
  scores a CSV file of readings with the device actor's own code and parameters (docs/detection.md):
  the scores are those the platform stores for the same readings, in the same order. Streams: files
  larger than memory are fine. Input: a header row, a timestamp column (the first unless named;
  ISO 8601, UTC when no zone, or epoch seconds/ms) and one column per metric (all others unless
  --metrics); an empty cell = the metric is absent from that row. A bad row is reported with its line
  number and skipped (exit status 1). FILE - or none: standard input.
  --format F      csv (default: timestamp,score,anomaly,reasons,incident,<metric>_score…) or json (one object per row)
  --out FILE      write there instead of standard output
  --params P      device settings as JSON or a JSON file: threshold, detectorParams, jointModel, jointParams, windowSize
  --threshold X   a row with score >= X is an anomaly (default: the settings', ${defaultDeviceSettings.threshold})
  --time-column C the timestamp column (default: the first)
  --metrics a,b   the metric columns to score (default: every other column)
  --device-id ID  the device id the actor is created with (default: detect)
  --out-dir DIR   score each FILE (a directory: its .csv files) as its own device, several at once
                  on a pool of worker threads, into DIR/<name>.scores.csv (.scores.jsonl with
                  --format json); one line per file and a total on standard error
  --threads N     worker threads for --out-dir (default: one per core, at most one per file)
exit status: 0 ok, 1 bad rows or an unreadable input, 2 usage error
`;

const OPTIONS = {
  format: { type: "string" },
  out: { type: "string" },
  params: { type: "string" },
  threshold: { type: "string" },
  "time-column": { type: "string" },
  metrics: { type: "string" },
  "device-id": { type: "string" },
  "out-dir": { type: "string" },
  threads: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Device settings `shoal detect` accepts from --params (the others never change a score). */
export const DETECT_PARAM_KEYS: readonly string[] = ["threshold", "detectorParams", "jointModel", "jointParams", "windowSize"];

/** What `shoal detect` was asked to do. */
export interface DetectOptions {
  /** The input file, or "-" for standard input (the first of `files`). */
  readonly file: string;
  /** Every input file (one, "-" included, unless `outDir` is set). */
  readonly files: readonly string[];
  /** Several files: the directory their scores go to, one file each; undefined: one input. */
  readonly outDir: string | undefined;
  /** Worker threads for `outDir` (undefined: one per core, at most one per file). */
  readonly threads: number | undefined;
  readonly format: "csv" | "json";
  /** Output file; undefined: standard output. */
  readonly out: string | undefined;
  /** Device settings for createOfflineDevice (checked; defaults for the rest). */
  readonly settings: Partial<DeviceSettings>;
  /** A row is an anomaly when its score >= threshold (the settings' threshold). */
  readonly threshold: number;
  readonly timeColumn: string | undefined;
  readonly metrics: readonly string[] | undefined;
  readonly deviceId: string;
}

/**
 * The options of `argv` (after `detect`), or "help" for --help.
 * @throws UsageError naming the option and what is wrong with it.
 */
export function parseDetectArgs(argv: readonly string[]): DetectOptions | "help" {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const o = parsed.values;
  if (o.help) return "help";
  const files = parsed.positionals.length > 0 ? parsed.positionals : ["-"];
  const outDir = o["out-dir"];
  if (outDir === undefined && files.length > 1) throw new UsageError(`${files.length} input files need --out-dir (each file's scores go to a file of its own there)`);
  if (outDir !== undefined) {
    if (outDir.trim() === "") throw new UsageError("--out-dir must not be empty");
    if (o.out !== undefined) throw new UsageError("--out and --out-dir together: --out-dir names each file's output itself");
    if (files.includes("-")) throw new UsageError("--out-dir reads files, not standard input (-)");
  }
  let threads: number | undefined;
  if (o.threads !== undefined) {
    if (outDir === undefined) throw new UsageError("--threads needs --out-dir (one input is scored on one thread)");
    threads = Number(o.threads);
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new UsageError(`--threads must be a whole number from 1 to 256, got ${JSON.stringify(o.threads)}`);
  }
  if (o.format !== undefined && o.format !== "csv" && o.format !== "json") throw new UsageError(`--format must be csv or json, got ${o.format}`);
  const metrics = o.metrics?.split(",").map((m) => m.trim());
  if (metrics !== undefined && metrics.some((m) => m === "")) throw new UsageError(`--metrics: an empty column name in ${JSON.stringify(o.metrics)}`);
  if (o["device-id"] !== undefined && o["device-id"].trim() === "") throw new UsageError("--device-id must not be empty");
  const settings = detectSettings(o.params, o.threshold);
  return {
    file: files[0]!,
    files,
    outDir,
    threads,
    format: o.format === "json" ? "json" : "csv",
    out: o.out,
    settings,
    threshold: settings.threshold ?? defaultDeviceSettings.threshold,
    timeColumn: o["time-column"],
    metrics,
    deviceId: o["device-id"] ?? "detect",
  };
}

/**
 * The device settings of --params (JSON text, or the path of a JSON file) and --threshold (which
 * wins), checked as the actor checks them.
 * @throws UsageError with the validator's message.
 */
export function detectSettings(params: string | undefined, threshold: string | undefined): Partial<DeviceSettings> {
  let raw: Record<string, unknown> = {};
  if (params !== undefined) {
    const inline = /^\s*[[{]/.test(params);
    let text = params;
    if (!inline) {
      try {
        text = readFileSync(params, "utf8");
      } catch (e) {
        throw new UsageError(`--params: neither a JSON object nor a readable file: ${(e as Error).message}`);
      }
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`--params${inline ? "" : ` (${params})`}: not JSON: ${(e as Error).message}`);
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new UsageError("--params must be a JSON object");
    raw = { ...(v as Record<string, unknown>) };
    for (const k of Object.keys(raw)) if (!DETECT_PARAM_KEYS.includes(k)) throw new UsageError(`--params: ${k} is not a setting here (${DETECT_PARAM_KEYS.join(", ")})`);
  }
  if (threshold !== undefined) {
    const t = Number(threshold);
    if (threshold.trim() === "" || !Number.isFinite(t)) throw new UsageError(`--threshold must be a number, got ${JSON.stringify(threshold)}`);
    raw.threshold = t;
  }
  try {
    return checkDeviceSettings(raw as Partial<DeviceSettings>);
  } catch (e) {
    throw new UsageError(`--params: ${(e as Error).message}`);
  }
}
