import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { createOfflineDevice } from "../../actors/device/index.js";
import { run } from "./detect.command.js";
import { parseMetric, parseTimestamp, splitCsvLine } from "./detect-csv.js";
import type { CommandIo } from "./io.js";
import { lehmerGaussian } from "../../test/support/seeded-noise.js";

const dir = mkdtempSync(join(tmpdir(), "shoal-detect-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A NAB-style file (timestamp "YYYY-MM-DD hh:mm:ss", 5-minute steps) with two metrics and two incidents. */
function csv(rows: number): { text: string; values: { tsMs: number; a: number; b: number }[] } {
  let x = 17;
  const u = () => (x = (x * 48271) % 2147483647) / 2147483647 - 0.5;
  const values = Array.from({ length: rows }, (_, i) => {
    const tsMs = Date.UTC(2014, 3, 1) + i * 300_000;
    const a = 50 + 10 * Math.sin(i / 40) + u() + (i === rows - 300 ? 60 : 0);
    return { tsMs, a, b: 2 * a + u() + (i > rows - 150 ? 4 : 0) };
  });
  const text = ["timestamp,a,b", ...values.map((v) => `${new Date(v.tsMs).toISOString().slice(0, 19).replace("T", " ")},${v.a},${v.b}`)].join("\n") + "\n";
  return { text, values };
}

function io(): CommandIo & { out: string; err: string } {
  const o = { out: "", err: "", env: {}, stdout: (s: string) => void (o.out += s), stderr: (s: string) => void (o.err += s) };
  return o;
}

describe("shoal detect", () => {
  it("prints exactly the scores the device actor stores for the same rows", async () => {
    const { text, values } = csv(3000);
    const file = join(dir, "two.csv");
    writeFileSync(file, text);
    const c = io();
    expect(await run([file], c)).toBe(0);
    const lines = c.out.trim().split("\n");
    expect(lines[0]).toBe("timestamp,score,anomaly,reasons,incident,a_score,b_score");
    const dev = createOfflineDevice("detect");
    const expected = values.map((v, i) => dev.feed({ seq: i + 1, tsMs: v.tsMs, metrics: { a: v.a, b: v.b } }));
    const got = lines.slice(1).map(splitCsvLine);
    expect(got.map((f) => Number(f[1]))).toEqual(expected.map((e) => e.score));
    expect(got.map((f) => [Number(f[5]), Number(f[6])])).toEqual(expected.map((e) => e.scores));
    const flagged = got.filter((f) => f[2] === "1");
    expect(flagged.length).toBeGreaterThan(0);
    expect(flagged.every((f) => f[3]!.length > 0)).toBe(true);
    // An anomaly names the row that opened its incident (itself unless it joined one); other rows none.
    expect(flagged.every((f) => f[4] === f[0] || flagged.some((o) => o[0] === f[4] && o[4] === o[0]))).toBe(true);
    expect(got.filter((f) => f[2] === "0").every((f) => f[4] === "")).toBe(true);
    expect(c.err).toMatch(/3000 rows scored, \d+ anomalies .* 0 bad rows skipped/);
  });

  it("names the row that opened an anomaly's incident when a device-level anomaly joined it", async () => {
    // outlet follows inlet and steps by 10 at row 3001: range novelty there, and the device-level
    // model's alarm 6 rows later joins that incident (actors/device/joint.test.ts, the same series).
    const g = lehmerGaussian(7);
    const ts = (i: number) => new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString();
    const body = Array.from({ length: 3100 }, (_, k) => {
      const i = k + 1;
      const a = 50 + 5 * Math.sin(i / 200) + 0.3 * g();
      return `${ts(i)},${a},${a + 2 + 0.1 * g() + (i > 3000 ? 10 : 0)},${1200 + 5 * g()}`;
    });
    const file = join(dir, "joint.csv");
    writeFileSync(file, ["ts,inlet,outlet,fan", ...body].join("\n") + "\n");
    const c = io();
    expect(await run([file], c)).toBe(0);
    const flagged = c.out.trim().split("\n").slice(1).map(splitCsvLine).filter((f) => f[2] === "1" && f[0]! > ts(3000));
    expect(flagged.map((f) => [f[0], f[3]!.split(":")[1]!.trim().split(" ")[0], f[4]])).toEqual([
      [ts(3001), "range", ts(3001)],
      [ts(3007), "joint", ts(3001)],
    ]);
    // The summary counts that pair as one incident (and every anomaly of the file that joined none as its own).
    const all = c.out.trim().split("\n").slice(1).map(splitCsvLine).filter((f) => f[2] === "1");
    const [, anomalies, incidents] = /(\d+) anomalies \(score >= 0\.9\) in (\d+) incidents/.exec(c.err) ?? [];
    expect([Number(anomalies), Number(incidents)]).toEqual([all.length, all.filter((f) => f[4] === f[0]).length]);
    expect(Number(incidents)).toBeLessThan(Number(anomalies));
  });

  it("writes JSON lines to --out, with reasons, and takes --params", async () => {
    const { text } = csv(1200);
    const file = join(dir, "p.csv");
    const out = join(dir, "p.jsonl");
    writeFileSync(file, text);
    expect(await run([file, "--format", "json", "--out", out, "--params", '{"jointModel":false,"threshold":0.8}'], io())).toBe(0);
    const rows = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { score: number; anomaly: boolean; reasons: { term: string }[]; scores: Record<string, number> });
    expect(rows).toHaveLength(1200);
    expect(rows.filter((r) => r.anomaly).every((r) => r.score >= 0.8)).toBe(true);
    expect(rows.some((r) => r.reasons.length > 0)).toBe(true);
    expect(rows.flatMap((r) => r.reasons).some((r) => r.term === "joint")).toBe(false);
    expect(rows.every((r) => (r as { incident?: unknown }).incident === (r.anomaly ? (r as { incident?: unknown }).incident : ""))).toBe(true);
  });

  it("reports bad rows with their line numbers, scores the rest and exits 1; bad options exit 2", async () => {
    const file = join(dir, "bad.csv");
    writeFileSync(file, "ts,v\n2024-01-01T00:00:00Z,1\nyesterday,2\n2024-01-01T00:02:00Z,abc\n2024-01-01T00:03:00Z,4\n");
    const c = io();
    expect(await run([file], c)).toBe(1);
    expect(c.err).toMatch(/line 3: unreadable timestamp "yesterday"/);
    expect(c.err).toMatch(/line 4: v: not a number "abc"/);
    expect(c.out.trim().split("\n")).toHaveLength(3);
    expect(await run([file, "--format", "xml"], io())).toBe(2);
    const p = io();
    expect(await run([file, "--params", '{"detectorParams":{"windowLength":1}}'], p)).toBe(2);
    expect(p.err).toMatch(/windowLength must be an integer in \[2, 64\]/);
    expect(await run([file, "--params", '{"alertRules":[]}'], io())).toBe(2);
  });

  it("takes empty cells as absent metrics, a byte-order mark, CRLF line ends, and refuses rows wider than the header", async () => {
    const file = join(dir, "gaps.csv");
    writeFileSync(file, "\uFEFFtime,a,b\r\n2024-01-01T00:00:00Z,1,\r\n2024-01-01T00:01:00Z,,2\r\n2024-01-01T00:02:00Z,3,4,5\r\n\r\n2024-01-01T00:03:00Z,,\r\n");
    const c = io();
    expect(await run([file, "--time-column", "time"], c)).toBe(1);
    const lines = c.out.trim().split("\n").map(splitCsvLine);
    expect(lines.map((l) => l.length)).toEqual([7, 7, 7]);
    expect(lines.slice(1).map((l) => [l[0], l[5], l[6]])).toEqual([
      ["2024-01-01T00:00:00Z", "0", ""],
      ["2024-01-01T00:01:00Z", "", "0"],
    ]);
    expect(c.err).toMatch(/line 4: 4 fields, the header has 3 \(skipped\)/);
    expect(c.err).toMatch(/line 6: no metric value \(skipped\)/);
    expect(c.err).toMatch(/2 rows scored, 0 anomalies \(score >= 0.9\) in 0 incidents, 2 bad rows skipped/);
  });

  it("exits 1 with the reason when the input cannot be read or its header does not fit, 0 for --help", async () => {
    const missing = io();
    expect(await run([join(dir, "nope.csv")], missing)).toBe(1);
    expect(missing.err).toMatch(/ENOENT.*nope\.csv/);
    const file = join(dir, "h.csv");
    writeFileSync(file, "ts,v\n1700000000,1\n");
    const header = io();
    expect(await run([file, "--metrics", "w"], header)).toBe(1);
    expect(header.err).toMatch(/no metric column named "w"/);
    const empty = join(dir, "empty.csv");
    writeFileSync(empty, "");
    expect(await run([empty], io())).toBe(1);
    const help = io();
    expect(await run(["--help"], help)).toBe(0);
    expect(help.out).toMatch(/^usage: shoal detect/);
  });

  it("reads timestamps and numbers as documented", () => {
    expect(parseTimestamp("2014-04-01 00:00:00")).toBe(Date.UTC(2014, 3, 1));
    expect(parseTimestamp("2014-04-01T00:00:00+02:00")).toBe(Date.UTC(2014, 2, 31, 22));
    expect(parseTimestamp("1700000000")).toBe(1_700_000_000_000);
    expect(parseTimestamp("1700000000123")).toBe(1_700_000_000_123);
    expect(parseTimestamp("soon")).toBeUndefined();
    expect(parseMetric("")).toBeUndefined();
    expect(parseMetric("1e3")).toBe(1000);
    expect(parseMetric("0x10")).toBeNaN();
    expect(splitCsvLine('a,"b, c","d ""e"""')).toEqual(["a", "b, c", 'd "e"']);
  });

  it("runs as `shoal detect` from the command line, reading standard input", async () => {
    const { text } = csv(400);
    const file = join(dir, "cli.csv");
    writeFileSync(file, text);
    const root = new URL("../..", import.meta.url).pathname;
    const { stdout, stderr } = await promisify(execFile)("sh", ["-c", `"${process.execPath}" "${join(root, "bin/shoal.mjs")}" detect - < "${file}"`]);
    expect(stdout.trim().split("\n")).toHaveLength(401);
    expect(stderr).toMatch(/400 rows scored/);
  }, 60_000);
});
