import { spawn } from "node:child_process";
import { rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { reservationDir } from "./free-port.js";

/**
 * Makes sure no server started by the harness outlives the test process.
 *
 * - Normal exit (including a failed run): an `exit` hook SIGKILLs every live server and
 *   removes its temp dir.
 * - Crash, SIGKILL or SIGTERM of the test process (no hook runs; vitest ends its fork
 *   workers with a signal): a detached `sh` watchdog polls the parent once a second; when it
 *   is gone it SIGKILLs the servers listed in a file, removes their temp dirs and the port
 *   reservations of the parent. A pid is only killed if its cwd is still that server's data
 *   dir (every server is started with its data dir as cwd), so a recycled pid is never hit.
 *
 * The registry is per process by nature (one test process, one set of children).
 */
interface Tracked {
  readonly pid: number;
  readonly dataDir: string;
}

const tracked = new Map<number, Tracked>();
const dataDirs = new Set<string>();
const listFile = join(tmpdir(), `shoal-harness-${process.pid}.children`);
let installed = false;

const watchdogScript = `
parent="$1"; list="$2"; ports="$3"
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
for f in "$ports"/*; do [ "$(cat "$f" 2>/dev/null)" = "$parent" ] && rm -f -- "$f"; done
[ -f "$list" ] || exit 0
while IFS=' ' read -r kind pid dir; do
  case "$kind" in
    pid) [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$dir" ] && kill -9 "$pid" 2>/dev/null ;;
  esac
done < "$list"
sleep 0.2
while IFS=' ' read -r kind pid dir; do
  [ "$kind" = dir ] && case "$dir" in */shoal-*) rm -rf -- "$dir" ;; esac
done < "$list"
rm -f -- "$list"
`;

function writeList(): void {
  const lines = [...tracked.values()].map((t) => `pid ${t.pid} ${t.dataDir}`);
  if (process.env.SHOAL_HARNESS_KEEP !== "1") for (const dir of dataDirs) lines.push(`dir 0 ${dir}`);
  try {
    writeFileSync(listFile, lines.join("\n") + "\n");
  } catch {
    // tmpdir unwritable: the exit hook still covers normal exits
  }
}

function onExit(): void {
  for (const t of tracked.values()) {
    try {
      process.kill(t.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  if (process.env.SHOAL_HARNESS_KEEP !== "1") {
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
  try {
    unlinkSync(listFile);
  } catch {
    // never written
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once("exit", onExit);
  const dog = spawn("sh", ["-c", watchdogScript, "shoal-harness-watchdog", String(process.pid), listFile, reservationDir], {
    detached: true,
    stdio: "ignore",
  });
  dog.on("error", () => undefined);
  dog.unref();
}

/** Registers a temp dir to delete if the process ends without cleanup(). `dataDir` must be a realpath. */
export function trackDir(dataDir: string): void {
  install();
  dataDirs.add(dataDir);
  writeList();
}

/** Forgets a temp dir (after cleanup() removed it). */
export function untrackDir(dataDir: string): void {
  dataDirs.delete(dataDir);
  writeList();
}

/** Registers a running server whose cwd is `dataDir` (a realpath). */
export function trackProcess(pid: number, dataDir: string): void {
  install();
  tracked.set(pid, { pid, dataDir });
  writeList();
}

/** Forgets a server that has exited. */
export function untrackProcess(pid: number): void {
  if (tracked.delete(pid)) writeList();
}
