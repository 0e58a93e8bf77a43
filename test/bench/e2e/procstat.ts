import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** CPU time (ms, user + system, all threads) and resident memory (MB) of a process now. */
export function procSample(pid: number): { cpuMs: number; rssMb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return { cpuMs: (Number(f[11]) + Number(f[12])) * 10, rssMb: rss ? Number(rss[1]) / 1024 : 0 };
  } catch {
    return undefined;
  }
}

/** Pid of the process listening on loopback TCP `port` (ss from iproute2), or undefined. */
export function pidOfPort(port: number): number | undefined {
  try {
    const out = execFileSync("ss", ["-ltnpH", `sport = :${port}`], { encoding: "utf8" });
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Samples named processes every second: CPU used between `start()` and `stop()`, peak RSS, RSS and CPU per second. */
export class ProcWatch {
  private readonly first = new Map<string, number>();
  private readonly last = new Map<string, number>();
  readonly peakRssMb = new Map<string, number>();
  readonly rssBySecond = new Map<string, number[]>();
  /** Per process, the CPU it used in each second between samples, % of one core (ticks of 10 ms). */
  readonly cpuBySecond = new Map<string, number[]>();
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly procs: ReadonlyMap<string, number>) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  /** CPU ms used by `name` between start and stop. */
  cpuMs(name: string): number {
    return (this.last.get(name) ?? 0) - (this.first.get(name) ?? 0);
  }

  get names(): string[] {
    return [...this.procs.keys()];
  }

  private sample(): void {
    const now = performance.now();
    const sinceMs = now - this.lastAt;
    this.lastAt = now;
    for (const [name, pid] of this.procs) {
      const s = procSample(pid);
      if (s === undefined) continue;
      if (!this.first.has(name)) this.first.set(name, s.cpuMs);
      else {
        const cpu = this.cpuBySecond.get(name) ?? [];
        cpu.push(Math.round(((s.cpuMs - this.last.get(name)!) / sinceMs) * 100));
        this.cpuBySecond.set(name, cpu);
      }
      this.last.set(name, s.cpuMs);
      this.peakRssMb.set(name, Math.max(this.peakRssMb.get(name) ?? 0, s.rssMb));
      const list = this.rssBySecond.get(name) ?? [];
      list.push(Math.round(s.rssMb));
      this.rssBySecond.set(name, list);
    }
  }
}
