// The module piscina's worker threads load for `shoal detect --out-dir` (detect-files.ts). Plain
// JavaScript, so that a worker can register tsx's ESM hooks in its own thread before it imports
// the TypeScript task (as the runtime's worker threads do, src/runtime/worker-slot.ts): the CLI
// runs from the sources without a build step, and a thread does not inherit hooks registered later.
import { existsSync } from "node:fs";

const source = new URL("./detect-file-task.ts", import.meta.url);
let task;

/** Scores one file (detect-file-task.ts, `scoreFile`). */
export default async function run(t) {
  task ??= await load();
  return task(t);
}

async function load() {
  if (!existsSync(source)) return (await import(new URL("./detect-file-task.js", import.meta.url).href)).scoreFile;
  const tsx = await import("tsx/esm/api");
  tsx.register();
  return (await import(source.href)).scoreFile;
}
