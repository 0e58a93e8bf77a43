/** CPU time of process trees (from /proc), for what a page load cost each side on this machine. */
import { readdirSync, readFileSync } from "node:fs";
import { procSample } from "../e2e/procstat.js";

/** Pids below `root` (children, their children, ...) whose command name matches `name`. */
export function descendants(root: number, name: RegExp): number[] {
  const parent = new Map<number, number>();
  const comm = new Map<number, string>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      comm.set(Number(d), stat.slice(stat.indexOf("(") + 1, close));
      parent.set(Number(d), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const below = (pid: number): boolean => {
    for (let p = parent.get(pid), hops = 0; p !== undefined && hops < 64; p = parent.get(p), hops++) if (p === root) return true;
    return false;
  };
  return [...comm].filter(([pid, c]) => name.test(c) && below(pid)).map(([pid]) => pid);
}

/** CPU ms (user + system) used by `pids` until now, by pid. */
export function cpuOf(pids: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const pid of pids) {
    const s = procSample(pid);
    if (s !== undefined) m.set(pid, s.cpuMs);
  }
  return m;
}

/** CPU ms used between two `cpuOf` samples (processes started in between count from zero). */
export const cpuBetween = (before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>) => [...after].reduce((a, [pid, ms]) => a + ms - (before.get(pid) ?? 0), 0);
