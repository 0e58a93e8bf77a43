/**
 * One task of `shoal detect --out-dir`: score one CSV file as its own device and write its scores
 * to their own file. Self-contained (no state outlives the task, nothing is shared between files),
 * so any worker thread of the pool can run any file: the stateless CPU work piscina is for.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { once } from "node:events";
import { createRowSink } from "./detect-output.js";
import { score, type Counts, type ScoreOptions } from "./detect-score.js";

/** Bad rows a task reports line by line; the rest are only counted. */
export const BAD_ROWS_REPORTED = 20;

export interface FileTask {
  readonly file: string;
  readonly out: string;
  readonly opts: ScoreOptions;
}

export interface FileResult {
  readonly file: string;
  readonly out: string;
  /** Undefined when the input could not be read or the output not written (`error` says why). */
  readonly counts: Counts | undefined;
  /** The first BAD_ROWS_REPORTED bad rows: line number (1 = the header) and what is wrong. */
  readonly badRows: readonly { readonly line: number; readonly problem: string }[];
  readonly error: string | undefined;
  /** Wall time of the task, ms. */
  readonly ms: number;
}

/** Scores `t.file` into `t.out`; never throws (a failure is the result's `error`). */
export async function scoreFile(t: FileTask): Promise<FileResult> {
  const started = performance.now();
  const badRows: { line: number; problem: string }[] = [];
  const file = createWriteStream(t.out);
  const sink = createRowSink((chunk) => file.write(chunk), file, true);
  let counts: Counts | undefined;
  let error: string | undefined;
  let input: ReturnType<typeof createReadStream> | undefined;
  try {
    // Opened before any row is read: an unwritable output fails the file at once.
    await Promise.race([once(file, "open"), once(file, "error").then(([e]) => Promise.reject(e as Error))]);
    // Opened only now: its 'error' (a missing file) must find score()'s reader listening.
    input = createReadStream(t.file);
    counts = await score(input, sink, t.opts, (line, problem) => {
      if (badRows.length < BAD_ROWS_REPORTED) badRows.push({ line, problem });
    });
  } catch (e) {
    error = (e as Error).message;
  } finally {
    input?.destroy();
  }
  await sink.end();
  if (error === undefined && sink.failure !== undefined) error = `writing ${t.out}: ${sink.failure.message}`;
  return { file: t.file, out: t.out, counts: error === undefined ? counts : undefined, badRows, error, ms: performance.now() - started };
}
