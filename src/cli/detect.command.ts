/**
 * `shoal detect`: users' own CSV files scored by the device actor's own code and parameters
 * (createOfflineDevice), so each row's scores are those the platform stores for the same readings in
 * the same order (test/integration/detect-matches-runtime.test.ts shows it against the running platform).
 * Streams: the input is read line by line and the output written in chunks that wait for the
 * destination, so memory stays flat for files larger than memory. Several files with --out-dir:
 * detect-files.ts (a pool of worker threads, a file per task).
 */
import { createReadStream, createWriteStream } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { UsageError, type CommandIo } from "./io.js";
import { DETECT_USAGE, parseDetectArgs } from "./detect-options.js";
import type { DetectOptions } from "./detect-options.js";
import { createRowSink } from "./detect-output.js";
import { score, type Counts } from "./detect-score.js";
import { isDirectory, runFiles } from "./detect-files.js";
import type { RowSink } from "./detect-output.js";

/**
 * `shoal detect`: exit 0; 1 when rows were bad (the others are scored) or the input is unreadable;
 * 2 on a usage error. `stdout` is the stream `io.stdout` ends in (the process's standard output),
 * watched so that output waits while it is full.
 */
export async function run(argv: string[], io: CommandIo, stdout: Writable = process.stdout): Promise<number> {
  let opts: DetectOptions;
  try {
    const parsed = parseDetectArgs(argv);
    if (parsed === "help") {
      io.stdout(DETECT_USAGE);
      return 0;
    }
    opts = parsed;
  } catch (e) {
    io.stderr(`shoal detect: ${(e as Error).message}\n${DETECT_USAGE}`);
    return 2;
  }
  if (opts.outDir !== undefined) {
    try {
      return await runFiles({ ...opts, outDir: opts.outDir }, io);
    } catch (e) {
      const usage = e instanceof UsageError;
      io.stderr(`shoal detect: ${(e as Error).message}\n${usage ? DETECT_USAGE : ""}`);
      return usage ? 2 : 1;
    }
  }
  if (opts.file !== "-" && isDirectory(opts.file)) {
    io.stderr(`shoal detect: ${opts.file} is a directory: score its files with --out-dir DIR\n${DETECT_USAGE}`);
    return 2;
  }
  const input: Readable = opts.file === "-" ? process.stdin : createReadStream(opts.file);
  let sink: RowSink;
  if (opts.out === undefined) sink = createRowSink((chunk) => io.stdout(chunk), stdout, false);
  else {
    const file = createWriteStream(opts.out);
    sink = createRowSink((chunk) => file.write(chunk), file, true);
  }
  const started = performance.now();
  let counts: Counts;
  try {
    counts = await score(input, sink, opts, (lineNo, problem) => io.stderr(`shoal detect: line ${lineNo}: ${problem} (skipped)\n`));
  } catch (e) {
    await sink.end();
    io.stderr(`shoal detect: ${(e as Error).message}\n`);
    return 1;
  } finally {
    if (input !== process.stdin) input.destroy();
  }
  await sink.end();
  const failure = sink.failure;
  // The reader went away (`shoal detect big.csv | head`): nobody wants the rest.
  if (failure?.code === "EPIPE") return counts.bad > 0 ? 1 : 0;
  if (failure !== undefined) {
    io.stderr(`shoal detect: writing ${opts.out ?? "standard output"}: ${failure.message}\n`);
    return 1;
  }
  const secs = (performance.now() - started) / 1000;
  io.stderr(
    `shoal detect: ${counts.rows} rows scored, ${counts.anomalies} anomalies (score >= ${opts.threshold}) in ${counts.incidents} incidents, ${counts.bad} bad rows skipped, ${Math.round(counts.rows / Math.max(secs, 1e-3))} rows/s\n`,
  );
  return counts.bad > 0 ? 1 : 0;
}

