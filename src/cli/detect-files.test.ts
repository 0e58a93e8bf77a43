import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "./detect.command.js";
import { inputFiles, outputOf, tasksOf } from "./detect-files.js";
import type { CommandIo } from "./io.js";
import { UsageError } from "./io.js";

// Real worker threads (piscina) loading the TypeScript task through detect-file-worker.mjs.
const dir = mkdtempSync(join(tmpdir(), "shoal-detect-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A device's export: two metrics with a spike, different per `seed`. */
function csv(rows: number, seed: number): string {
  let x = seed;
  const u = () => (x = (x * 48271) % 2147483647) / 2147483647 - 0.5;
  const lines = ["timestamp,a,b"];
  for (let i = 0; i < rows; i++) {
    const a = 50 + 10 * Math.sin(i / (30 + seed)) + u() + (i === rows - 200 ? 60 : 0);
    lines.push(`${new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString()},${a},${2 * a + u()}`);
  }
  return lines.join("\n") + "\n";
}

function io(): CommandIo & { out: string; err: string } {
  const o = { out: "", err: "", env: {}, stdout: (s: string) => void (o.out += s), stderr: (s: string) => void (o.err += s) };
  return o;
}

describe("shoal detect FILE... --out-dir (a pool of worker threads)", () => {
  const inputs = [1, 2, 3, 4, 5].map((seed) => {
    const file = join(dir, `pump-${seed}.csv`);
    writeFileSync(file, csv(1500 + 100 * seed, seed * 7919));
    return file;
  });

  it("writes each file's scores to its own file, exactly those of `shoal detect FILE`", async () => {
    for (const format of ["csv", "json"] as const) {
      const out = join(dir, `scores-${format}`);
      const c = io();
      expect(await run([...inputs, "--out-dir", out, "--threads", "2", "--format", format], c)).toBe(0);
      expect(readdirSync(out).sort()).toEqual(inputs.map((f) => outputOf(f, out, format).slice(out.length + 1)).sort());
      for (const file of inputs) {
        const alone = io();
        expect(await run([file, "--format", format], alone)).toBe(0);
        expect(readFileSync(outputOf(file, out, format), "utf8")).toBe(alone.out);
        expect(c.err).toContain(`${file} -> ${outputOf(file, out, format)}: `);
      }
      expect(c.err).toMatch(/5 of 5 files scored on 2 threads: 9000 rows, [1-9]\d* anomalies/);
    }
  }, 60_000);

  it("reports a file it cannot read and a file's bad rows by name, scores the others, and exits 1", async () => {
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "timestamp,a\n2024-01-01T00:00:00Z,1\nyesterday,2\n2024-01-01T00:02:00Z,x\n");
    const missing = join(dir, "missing.csv");
    const out = join(dir, "scores-mixed");
    const c = io();
    expect(await run([inputs[0]!, bad, missing, "--out-dir", out], c)).toBe(1);
    expect(c.err).toContain(`${bad}: line 3: unreadable timestamp "yesterday" (skipped)`);
    expect(c.err).toContain(`${bad}: line 4: a: not a number "x" (skipped)`);
    expect(c.err).toMatch(/missing\.csv: ENOENT/);
    expect(c.err).toMatch(/2 of 3 files scored on 2 threads: 1601 rows, .* 2 bad rows skipped/);
    expect(readFileSync(outputOf(bad, out, "csv"), "utf8").trim().split("\n")).toHaveLength(2);
  }, 60_000);

  it("refuses two inputs that would write the same output, before scoring anything", async () => {
    expect(() => tasksOf(["a/x.csv", "b/x.csv"], "o", { deviceId: "d", settings: {}, format: "csv", threshold: 0.9, timeColumn: undefined, metrics: undefined })).toThrow(UsageError);
    const c = io();
    expect(await run([inputs[0]!, join(dir, "..", dir.split("/").pop()!, "pump-1.csv"), "--out-dir", join(dir, "dup")], c)).toBe(2);
    expect(c.err).toMatch(/would both write .*pump-1\.scores\.csv/);
    expect(outputOf("/d/NAB file.CSV", "o", "json")).toBe(join("o", "NAB file.scores.jsonl"));
    expect(outputOf("/d/readings", "o", "csv")).toBe(join("o", "readings.scores.csv"));
  });

  it("takes a directory as its .csv files, and refuses a directory without --out-dir", async () => {
    const fleet = join(dir, "fleet");
    mkdirSync(join(fleet, "older"), { recursive: true });
    writeFileSync(join(fleet, "p2.csv"), csv(300, 11));
    writeFileSync(join(fleet, "p1.CSV"), csv(300, 13));
    writeFileSync(join(fleet, "notes.txt"), "not a reading");
    writeFileSync(join(fleet, "older", "p0.csv"), csv(300, 17));
    expect(inputFiles([fleet, inputs[0]!])).toEqual([join(fleet, "p1.CSV"), join(fleet, "p2.csv"), inputs[0]]);
    const out = join(dir, "scores-fleet");
    const c = io();
    expect(await run([fleet, "--out-dir", out], c)).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["p1.scores.csv", "p2.scores.csv"]);
    const alone = io();
    expect(await run([fleet], alone)).toBe(2);
    expect(alone.err).toMatch(/fleet is a directory: score its files with --out-dir DIR/);
    const empty = join(dir, "empty-fleet");
    mkdirSync(empty);
    const none = io();
    expect(await run([empty, "--out-dir", out], none)).toBe(2);
    expect(none.err).toMatch(/no \.csv files in .*empty-fleet/);
  }, 60_000);

  it("runs from the command line (`shoal detect a.csv b.csv --out-dir d`)", async () => {
    const root = new URL("../..", import.meta.url).pathname;
    const out = join(dir, "scores-cli");
    const { stderr } = await promisify(execFile)(process.execPath, [join(root, "bin/shoal.mjs"), "detect", inputs[0]!, inputs[1]!, "--out-dir", out]);
    expect(stderr).toMatch(/2 of 2 files scored on \d threads: 3300 rows/);
    const alone = io();
    await run([inputs[1]!], alone);
    expect(readFileSync(outputOf(inputs[1]!, out, "csv"), "utf8")).toBe(alone.out);
  }, 60_000);
});
