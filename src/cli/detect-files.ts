/**
 * `shoal detect FILE... --out-dir DIR`: each file scored as its own device (a fleet's exports, one
 * file per device), several at once on a piscina pool of worker threads. A file is one task, read
 * and written by the thread that scores it, so only its summary crosses back; its scores are exactly
 * those of `shoal detect FILE` (test: detect-files.test.ts).
 */
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, extname, join } from "node:path";
import { Piscina } from "piscina";
import type { FileResult, FileTask } from "./detect-file-task.js";
import type { DetectOptions } from "./detect-options.js";
import type { ScoreOptions } from "./detect-score.js";
import { UsageError } from "./io.js";
import type { CommandIo } from "./io.js";

/** Where the scores of `file` go in `outDir`: its name without .csv/.txt, then .scores.csv or .scores.jsonl. */
export function outputOf(file: string, outDir: string, format: "csv" | "json"): string {
  const name = basename(file);
  const ext = extname(name).toLowerCase();
  const stem = ext === ".csv" || ext === ".txt" ? name.slice(0, -ext.length) : name;
  return join(outDir, `${stem}.scores.${format === "json" ? "jsonl" : "csv"}`);
}

/**
 * The tasks of `files`, one output file each.
 * @throws UsageError when two inputs would write the same output (same name in two folders).
 */
export function tasksOf(files: readonly string[], outDir: string, opts: ScoreOptions): FileTask[] {
  const seen = new Map<string, string>();
  return files.map((file) => {
    const out = outputOf(file, outDir, opts.format);
    const other = seen.get(out);
    if (other !== undefined) throw new UsageError(`${other} and ${file} would both write ${out}: give them different names`);
    seen.set(out, file);
    return { file, out, opts };
  });
}

/**
 * The input files of `paths`: a file as it is, a directory as its `.csv` files (not its
 * subdirectories), sorted by name, so a fleet's exports need no shell glob (and no argument list
 * as long as the fleet).
 */
export function inputFiles(paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    // Not a directory, or not there: scored as a file (and then reported as unreadable by its task).
    if (!isDirectory(p)) return [p];
    return readdirSync(p, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.toLowerCase().endsWith(".csv"))
      .map((e) => join(p, e.name))
      .sort();
  });
}

/** Whether `path` is a directory (false when it is not there). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Scores every file of `opts.files` into `opts.outDir`; exit status 0, or 1 when a file failed or had bad rows. */
export async function runFiles(opts: DetectOptions & { readonly outDir: string }, io: CommandIo): Promise<number> {
  const scoreOpts: ScoreOptions = { deviceId: opts.deviceId, settings: opts.settings, format: opts.format, threshold: opts.threshold, timeColumn: opts.timeColumn, metrics: opts.metrics };
  const files = inputFiles(opts.files);
  if (files.length === 0) throw new UsageError(`no .csv files in ${opts.files.join(" ")}`);
  const tasks = tasksOf(files, opts.outDir, scoreOpts);
  mkdirSync(opts.outDir, { recursive: true });
  const threads = Math.min(opts.threads ?? availableParallelism(), tasks.length);
  const pool = new Piscina<FileTask, FileResult>({
    filename: new URL("./detect-file-worker.mjs", import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    // A task is a whole file (seconds to minutes): one at a time per thread, none queued on a busy one.
    concurrentTasksPerWorker: 1,
  });
  const started = performance.now();
  let rows = 0;
  let anomalies = 0;
  let incidents = 0;
  let bad = 0;
  let failed = 0;
  try {
    // Printed as each file ends; the order of files is the order they finish.
    await Promise.all(
      tasks.map(async (t) => {
        let r: FileResult;
        try {
          r = await pool.run(t);
        } catch (e) {
          // The thread itself failed (out of memory, say): this file fails, the others go on.
          r = { file: t.file, out: t.out, counts: undefined, badRows: [], error: `its worker thread failed: ${(e as Error).message}`, ms: 0 };
        }
        for (const b of r.badRows) io.stderr(`shoal detect: ${r.file}: line ${b.line}: ${b.problem} (skipped)\n`);
        if (r.counts === undefined) {
          failed++;
          io.stderr(`shoal detect: ${r.file}: ${r.error ?? "failed"}\n`);
          return;
        }
        const c = r.counts;
        rows += c.rows;
        anomalies += c.anomalies;
        incidents += c.incidents;
        bad += c.bad;
        const more = c.bad > r.badRows.length ? ` (the first ${r.badRows.length} shown)` : "";
        io.stderr(`shoal detect: ${r.file} -> ${r.out}: ${c.rows} rows, ${c.anomalies} anomalies in ${c.incidents} incidents, ${c.bad} bad rows skipped${more}, ${Math.round(c.rows / Math.max(r.ms / 1000, 1e-3))} rows/s\n`);
      }),
    );
  } finally {
    await pool.destroy();
  }
  const secs = (performance.now() - started) / 1000;
  io.stderr(
    `shoal detect: ${tasks.length - failed} of ${tasks.length} files scored on ${threads} threads: ${rows} rows, ${anomalies} anomalies (score >= ${opts.threshold}) in ${incidents} incidents, ${bad} bad rows skipped, ${Math.round(rows / Math.max(secs, 1e-3))} rows/s\n`,
  );
  return failed > 0 || bad > 0 ? 1 : 0;
}
