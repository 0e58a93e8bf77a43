import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultDeviceSettings } from "../../actors/device/index.js";
import { parseDetectArgs } from "./detect-options.js";
import type { DetectOptions } from "./detect-options.js";
import { UsageError } from "./io.js";

const dir = mkdtempSync(join(tmpdir(), "shoal-detect-opts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parse = (...argv: string[]) => parseDetectArgs(argv) as DetectOptions;
const usageError = (...argv: string[]) => {
  try {
    parseDetectArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`no usage error for ${argv.join(" ")}`);
};

describe("shoal detect's options", () => {
  it("defaults: standard input, CSV to standard output, the actor's default settings and threshold", () => {
    expect(parse()).toEqual({ file: "-", files: ["-"], outDir: undefined, threads: undefined, format: "csv", out: undefined, settings: {}, threshold: defaultDeviceSettings.threshold, timeColumn: undefined, metrics: undefined, deviceId: "detect" });
    expect(parseDetectArgs(["--help"])).toBe("help");
  });

  it("takes every option", () => {
    const o = parse("in.csv", "--format", "json", "--out", "o.jsonl", "--time-column", "time", "--metrics", "temp, rpm", "--device-id", "pump-7", "--threshold", "0.75");
    expect(o).toEqual({ file: "in.csv", files: ["in.csv"], outDir: undefined, threads: undefined, format: "json", out: "o.jsonl", settings: { threshold: 0.75 }, threshold: 0.75, timeColumn: "time", metrics: ["temp", "rpm"], deviceId: "pump-7" });
  });

  it("several files: --out-dir, and --threads for its pool", () => {
    const o = parse("a.csv", "b.csv", "--out-dir", "scores", "--threads", "3", "--format", "json");
    expect(o).toMatchObject({ file: "a.csv", files: ["a.csv", "b.csv"], outDir: "scores", threads: 3, format: "json", out: undefined });
    expect(parse("a.csv", "--out-dir", "scores")).toMatchObject({ files: ["a.csv"], outDir: "scores", threads: undefined });
    expect(usageError("a.csv", "b.csv", "--out-dir", "d", "--out", "o.csv")).toMatch(/--out and --out-dir together/);
    expect(usageError("a.csv", "-", "--out-dir", "d")).toMatch(/not standard input/);
    expect(usageError("--out-dir", "d")).toMatch(/not standard input/);
    expect(usageError("a.csv", "--out-dir", " ")).toMatch(/--out-dir must not be empty/);
    expect(usageError("a.csv", "--threads", "2")).toMatch(/--threads needs --out-dir/);
    for (const bad of ["0", "1.5", "many", "257"]) expect(usageError("a.csv", "--out-dir", "d", "--threads", bad)).toMatch(/--threads must be a whole number from 1 to 256/);
  });

  it("reads --params inline or from a file; --threshold wins over the params' threshold", () => {
    const params = { threshold: 0.8, detectorParams: { windowLength: 12 }, jointModel: false, jointParams: {} };
    expect(parse("--params", JSON.stringify(params)).settings).toEqual(params);
    const file = join(dir, "params.json");
    writeFileSync(file, JSON.stringify(params));
    const o = parse("--params", file, "--threshold", "0.95");
    expect(o.settings).toEqual({ ...params, threshold: 0.95 });
    expect(o.threshold).toBe(0.95);
    expect(parse("--params", file).threshold).toBe(0.8);
  });

  it("refuses bad params with the device actor's validator's message", () => {
    expect(usageError("--params", '{"detectorParams":{"windowLength":1}}')).toMatch(/windowLength must be an integer in \[2, 64\]/);
    expect(usageError("--params", '{"threshold":1.5}')).toMatch(/threshold must be between 0 and 1, got 1.5/);
    expect(usageError("--params", '{"jointModel":"yes"}')).toMatch(/jointModel must be true or false/);
    expect(usageError("--params", '{"alertRules":[]}')).toMatch(/alertRules is not a setting here/);
    expect(usageError("--params", "[1]")).toMatch(/must be a JSON object/);
    expect(usageError("--params", "{threshold: 1}")).toMatch(/--params: not JSON/);
    expect(usageError("--params", join(dir, "missing.json"))).toMatch(/neither a JSON object nor a readable file.*missing\.json/);
  });

  it("refuses bad options as usage errors", () => {
    expect(usageError("--format", "xml")).toMatch(/--format must be csv or json, got xml/);
    expect(usageError("a.csv", "b.csv")).toMatch(/2 input files need --out-dir/);
    expect(usageError("--threshold", "high")).toMatch(/--threshold must be a number/);
    expect(usageError("--threshold", "")).toMatch(/--threshold must be a number/);
    expect(usageError("--metrics", "a,,b")).toMatch(/empty column name/);
    expect(usageError("--colour")).toMatch(/--colour/);
  });
});
