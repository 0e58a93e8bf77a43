// `npm run bench:detect`: `shoal detect FILE... --out-dir` scoring a fleet's exports on piscina's
// pool of worker threads, one thread against one per core, interleaved (the machine's speed drifts
// between minutes). The files: the NAB corpus carried in the repository, written out BENCH_COPIES
// times (default 6: 348 files, ~2.2 M rows), one device per file. Prints a table; asserts nothing
// about speed. BENCH_ROUNDS (default 2) pairs of runs.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../src/cli/detect.command.js";
import { defaultNabCorpus, readNabCorpus } from "../../src/nab/corpus.js";

const COPIES = Math.max(1, Number(process.env.BENCH_COPIES ?? 6));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const cores = availableParallelism();

const dir = mkdtempSync(join(tmpdir(), "shoal-bench-detect-"));
try {
  const corpus = readNabCorpus(defaultNabCorpus());
  const files: string[] = [];
  for (let k = 0; k < COPIES; k++)
    for (const f of corpus) {
      const file = join(dir, `${k}_${f.category}_${f.name}.csv`);
      writeFileSync(file, `timestamp,value\n${f.timestamps.map((t, i) => `${t},${f.rawValues[i]}`).join("\n")}\n`);
      files.push(file);
    }
  const rows = corpus.reduce((a, f) => a + f.values.length, 0) * COPIES;
  console.log(`shoal detect --out-dir: ${files.length} files (the NAB corpus x${COPIES}), ${rows.toLocaleString("en-US")} rows, node ${process.version}, ${cores} cores\n`);
  console.log("| threads | wall s | rows/s | cores busy (process CPU / wall) |");
  console.log("|---|---|---|---|");
  const variants = cores > 1 ? [1, cores] : [1];
  const quiet = { env: {}, stdout: () => {}, stderr: () => {} };
  for (let r = 0; r < ROUNDS; r++)
    for (const threads of r % 2 === 0 ? variants : [...variants].reverse()) {
      const out = join(dir, `out-${threads}`);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const status = await run([...files, "--out-dir", out, "--threads", String(threads)], quiet);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      if (status !== 0) throw new Error(`shoal detect exited ${status}`);
      console.log(`| ${threads} | ${(ms / 1000).toFixed(2)} | ${Math.round(rows / (ms / 1000)).toLocaleString("en-US")} | ${((cpu.user + cpu.system) / 1000 / ms).toFixed(2)} |`);
      rmSync(out, { recursive: true, force: true });
    }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
