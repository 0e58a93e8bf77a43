import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { createOfflineDevice } from "../../actors/device/index.js";
import type { DeviceSettings } from "../../actors/device/index.js";
import { checkDeviceSettings } from "../../actors/device/device-settings.js";
import { formatReasons } from "../domain/anomaly-reasons.js";
import { UsageError, type CommandIo } from "./io.js";
import { layoutOf, parseMetric, parseTimestamp, splitCsvLine } from "./detect-csv.js";
import type { CsvLayout } from "./detect-csv.js";

const USAGE = `usage: shoal detect [FILE|-] [--format csv|json] [--out FILE] [--params JSON|FILE] [--threshold X]
                   [--time-column NAME] [--metrics a,b] [--device-id ID]
  scores a CSV file of readings with the device actor's own code and parameters (docs/detection.md):
  the scores are those the platform stores for the same readings, in the same order. Streams: files
  larger than memory are fine. Input: a header row, a timestamp column (the first unless named;
  ISO 8601, UTC when no zone, or epoch seconds/ms) and one column per metric (all others unless
  --metrics); an empty cell = the metric is absent from that row. A bad row is reported with its line
  number and skipped (exit status 1).
  --format F      csv (default: timestamp,score,anomaly,reasons,<metric>_score…) or json (one object per row)
  --out FILE      write there instead of standard output
  --params P      device settings as JSON or a JSON file: threshold, detectorParams, jointModel, jointParams
  --threshold X   a row with score >= X is an anomaly (default: the settings', 0.9)
`;

const OPTIONS = {
  format: { type: "string" },
  out: { type: "string" },
  params: { type: "string" },
  threshold: { type: "string" },
  "time-column": { type: "string" },
  metrics: { type: "string" },
  "device-id": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Device settings `shoal detect` accepts from --params (the rest would not change a score). */
const PARAM_KEYS = new Set(["threshold", "detectorParams", "jointModel", "jointParams", "windowSize"]);

/** `shoal detect`: exit 0, 1 when rows were bad (the rest are scored), 2 on a usage error. */
export async function run(argv: string[], io: CommandIo): Promise<number> {
  let o: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];
  let file: string;
  let settings: Partial<DeviceSettings>;
  try {
    const parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
    o = parsed.values;
    if (o.help) {
      io.stdout(USAGE);
      return 0;
    }
    if (parsed.positionals.length > 1) throw new UsageError(`one input file, got ${parsed.positionals.length}`);
    file = parsed.positionals[0] ?? "-";
    if (o.format !== undefined && o.format !== "csv" && o.format !== "json") throw new UsageError(`--format must be csv or json, got ${o.format}`);
    settings = settingsOf(o.params, o.threshold);
  } catch (e) {
    io.stderr(`shoal detect: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const json = o.format === "json";
  const threshold = settings.threshold ?? 0.9;
  const input = file === "-" ? process.stdin : createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Infinity });
  const out = o.out === undefined ? undefined : createWriteStream(o.out);
  const write = async (s: string) => {
    if (out === undefined) return io.stdout(s);
    if (!out.write(s)) await once(out, "drain");
  };
  const device = createOfflineDevice(o["device-id"] ?? "detect", settings);
  const started = performance.now();
  let layout: CsvLayout | undefined;
  let lineNo = 0;
  let rows = 0;
  let anomalies = 0;
  let bad = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === "") continue;
      const cells = splitCsvLine(line);
      if (layout === undefined) {
        layout = layoutOf(cells, o["time-column"], o.metrics?.split(",").map((m) => m.trim()));
        if (!json) await write(["timestamp", "score", "anomaly", "reasons", ...layout.metrics.map((m) => `${m.name}_score`)].join(",") + "\n");
        continue;
      }
      const tsMs = parseTimestamp(cells[layout.time] ?? "");
      const metrics: Record<string, number> = {};
      let problem = tsMs === undefined ? `unreadable timestamp ${JSON.stringify(cells[layout.time] ?? "")}` : "";
      for (const m of layout.metrics) {
        const v = parseMetric(cells[m.index] ?? "");
        if (v === undefined) continue;
        if (Number.isNaN(v)) problem ||= `${m.name}: not a number ${JSON.stringify(cells[m.index])}`;
        else metrics[m.name] = v;
      }
      if (problem === "" && Object.keys(metrics).length === 0) problem = "no metric value";
      if (problem !== "") {
        bad++;
        io.stderr(`shoal detect: line ${lineNo}: ${problem} (skipped)\n`);
        continue;
      }
      rows++;
      const got = device.feed({ seq: rows, tsMs: tsMs!, metrics });
      const anomaly = got.score >= threshold;
      if (anomaly) anomalies++;
      const reasons = got.anomaly?.reasons ?? [];
      const byName = new Map(got.names.map((n, i) => [n, got.scores[i]!]));
      const ts = cells[layout.time]!;
      if (json) {
        await write(JSON.stringify({ ts, tsMs, score: got.score, anomaly, reasons, scores: Object.fromEntries(byName) }) + "\n");
      } else {
        const reasonText = formatReasons(reasons);
        await write([csvField(ts), String(got.score), anomaly ? "1" : "0", csvField(reasonText), ...layout.metrics.map((m) => (byName.has(m.name) ? String(byName.get(m.name)) : ""))].join(",") + "\n");
      }
    }
    if (layout === undefined) throw new Error("the input has no header row");
  } catch (e) {
    io.stderr(`shoal detect: ${(e as Error).message}\n`);
    return 1;
  } finally {
    if (out !== undefined) {
      out.end();
      await once(out, "close");
    }
  }
  const secs = (performance.now() - started) / 1000;
  io.stderr(`shoal detect: ${rows} rows scored, ${anomalies} anomalies (score >= ${threshold}), ${bad} bad rows skipped, ${Math.round(rows / Math.max(secs, 1e-3))} rows/s\n`);
  return bad > 0 ? 1 : 0;
}

/** The device settings of --params (JSON text or a file) and --threshold, checked as the actor checks them. */
function settingsOf(params: string | undefined, threshold: string | undefined): Partial<DeviceSettings> {
  let raw: Record<string, unknown> = {};
  if (params !== undefined) {
    const text = params.trim().startsWith("{") ? params : readFileSync(params, "utf8");
    const v: unknown = JSON.parse(text);
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new UsageError("--params must be a JSON object");
    raw = v as Record<string, unknown>;
    for (const k of Object.keys(raw)) if (!PARAM_KEYS.has(k)) throw new UsageError(`--params: ${k} is not a setting here (${[...PARAM_KEYS].join(", ")})`);
  }
  if (threshold !== undefined) {
    const t = Number(threshold);
    if (!Number.isFinite(t)) throw new UsageError(`--threshold must be a number, got ${threshold}`);
    raw.threshold = t;
  }
  return checkDeviceSettings(raw as Partial<DeviceSettings>);
}

/** A CSV field, quoted when it holds a comma, a quote or a newline. */
function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
