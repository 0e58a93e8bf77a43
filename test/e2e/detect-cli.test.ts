/**
 * `shoal detect` as a user runs it (bin/shoal.mjs, a child process): a NAB data file exactly as
 * published (`timestamp,value`, "2014-07-06 20:10:00" in UTC) scored row by row to the same doubles
 * as the device actor fed the same readings (createOfflineDevice: seq = row number, tsMs = the row's
 * time); bad rows reported by line number with exit status 1; a reader that stops early (`| head`)
 * ends it quietly. No services needed.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createOfflineDevice } from "../../actors/device/index.js";
import type { DeviceSettings } from "../../actors/device/index.js";
import { defaultNabCorpus, parseNabTimestamp } from "../../src/nab/index.js";
import { readTar } from "../../src/nab/tar.js";
import { splitCsvLine } from "../../src/cli/detect-csv.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const NAB_FILE = "realKnownCause/rogue_agent_key_hold.csv";
const dir = mkdtempSync(join(tmpdir(), "shoal-detect-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The NAB file's text, verbatim from the corpus archive carried in the repository. */
function nabText(relPath: string): string {
  const entries = readTar(readFileSync(defaultNabCorpus()));
  const key = [...entries.keys()].find((k) => k.endsWith(`data/${relPath}`));
  if (key === undefined) throw new Error(`${relPath} is not in ${defaultNabCorpus()}`);
  return new TextDecoder().decode(entries.get(key));
}

/** Runs `shoal detect args…`; `stdin` is written to its standard input. */
function shoal(args: string[], opts: { stdin?: string; stopAfterBytes?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, "bin/shoal.mjs"), "detect", ...args], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
      // A reader that has seen enough and goes away, as `| head` does.
      if (opts.stopAfterBytes !== undefined && stdout.length >= opts.stopAfterBytes) child.stdout.destroy();
    });
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.stdin ?? "");
  });
}

/** What the device actor stores for the file's rows, fed as `shoal detect` feeds them. */
function actorScores(text: string, settings: Partial<DeviceSettings> = {}) {
  const rows = text.trim().split("\n").slice(1).map((l) => l.split(","));
  const device = createOfflineDevice("detect", settings);
  return rows.map(([ts, v], i) => device.feed({ seq: i + 1, tsMs: parseNabTimestamp(ts!), metrics: { value: Number(v) } }));
}

describe("shoal detect from the command line", () => {
  const text = nabText(NAB_FILE);
  const file = join(dir, "rogue_agent_key_hold.csv");
  writeFileSync(file, text);

  it("prints, for a NAB file, exactly the scores the device actor stores for the same rows (CSV on standard output)", async () => {
    const { code, stdout, stderr } = await shoal([file]);
    expect(stderr).toMatch(/1882 rows scored, \d+ anomalies \(score >= 0.9\) in \d+ incidents, 0 bad rows skipped, \d+ rows\/s/);
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toBe("timestamp,score,anomaly,reasons,incident,value_score");
    const got = lines.slice(1).map(splitCsvLine);
    const expected = actorScores(text);
    expect(got).toHaveLength(expected.length);
    expect(got.map((f) => f[0])).toEqual(text.trim().split("\n").slice(1).map((l) => l.split(",")[0]));
    // Bit for bit: the printed text reads back as the very same double.
    expect(got.map((f) => Number(f[1]))).toEqual(expected.map((e) => e.score));
    expect(got.map((f) => Number(f[5]))).toEqual(expected.map((e) => e.scores[0]));
    expect(got.map((f) => f[2])).toEqual(expected.map((e) => (e.score >= 0.9 ? "1" : "0")));
    // Not trivially equal: the file's incidents are scored, and the flagged rows say why.
    const flagged = got.filter((f) => f[2] === "1");
    expect(flagged.length).toBeGreaterThan(0);
    expect(flagged.filter((f) => f[3] !== "").length).toBeGreaterThan(0);
    expect(flagged.filter((f) => f[3] !== "").every((f) => /^value: (range|discord|season|level|outlier) \d\.\d\d/.test(f[3]!))).toBe(true);
    // One metric: no device-level model, so every anomaly opens its own incident.
    expect(flagged.every((f) => f[4] === f[0])).toBe(true);
  }, 60_000);

  it("reads standard input and writes JSON lines to --out with --params, equal to the actor with those settings", async () => {
    const out = join(dir, "scores.jsonl");
    const params = { threshold: 0.7, detectorParams: { windowLength: 8 } };
    const { code } = await shoal(["-", "--format", "json", "--out", out, "--params", JSON.stringify(params)], { stdin: text });
    expect(code).toBe(0);
    const rows = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { ts: string; tsMs: number; score: number; anomaly: boolean; reasons: { metric: string; term: string; score: number }[]; scores: { value: number } });
    const expected = actorScores(text, params);
    expect(rows.map((r) => r.score)).toEqual(expected.map((e) => e.score));
    expect(rows.map((r) => r.scores.value)).toEqual(expected.map((e) => e.scores[0]));
    expect(rows.map((r) => r.reasons)).toEqual(expected.map((e) => (e.anomaly?.reasons ?? []).map((x) => ({ metric: x.metric, term: x.term, score: x.score }))));
    expect(rows.map((r) => r.anomaly)).toEqual(expected.map((e) => e.score >= 0.7));
    // Other settings, other scores: --params reached the actor.
    expect(rows.map((r) => r.score)).not.toEqual(actorScores(text).map((e) => e.score));
  }, 60_000);

  it("reports bad rows with their line numbers, scores the rest and exits 1; a bad option exits 2", async () => {
    const lines = text.trim().split("\n");
    lines[10] = "2014-07-06 21:00:00,n/a";
    lines[20] = "not a time,0.5";
    const { code, stdout, stderr } = await shoal(["-"], { stdin: lines.join("\n") + "\n" });
    expect(code).toBe(1);
    expect(stderr).toMatch(/line 11: value: not a number "n\/a" \(skipped\)/);
    expect(stderr).toMatch(/line 21: unreadable timestamp "not a time" \(skipped\)/);
    expect(stderr).toMatch(/1880 rows scored, \d+ anomalies .*, 2 bad rows skipped/);
    expect(stdout.trim().split("\n")).toHaveLength(1881);
    const usage = await shoal([file, "--format", "xml"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--format must be csv or json, got xml\nusage: shoal detect/);
  }, 60_000);

  it("stops quietly when the reader goes away (| head)", async () => {
    const big = ["timestamp,value", ...Array.from({ length: 50_000 }, (_, i) => `${1_700_000_000 + 60 * i},${Math.sin(i / 30)}`)].join("\n");
    const { code, stderr } = await shoal(["-"], { stdin: big, stopAfterBytes: 100 });
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  }, 60_000);
});
