import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ServiceStartError } from "./errors.js";
import { releasePort } from "./free-port.js";
import { trackDir, trackProcess, untrackDir, untrackProcess } from "./reaper.js";

/** A real server started for a test suite. Names and semantics are relied on by every integration test. */
export interface ServiceHandle {
  /** Service name: nats, mosquitto, clickhouse, redis, consul. */
  readonly name: string;
  /** Client URL, e.g. `nats://127.0.0.1:23456`. */
  readonly url: string;
  /** Main client port (the one in `url`). */
  readonly port: number;
  /** Temp dir with the config, data and logs; kept by stop()/kill(), removed by cleanup(). */
  readonly dataDir: string;
  /** The server's main log file (inside dataDir). */
  readonly logFile: string;
  /** SIGTERM, wait for exit (SIGKILL after 20 s); keeps dataDir. No-op when not running. */
  stop(): Promise<void>;
  /** SIGKILL (a crash), wait for exit; keeps dataDir. No-op when not running. */
  kill(): Promise<void>;
  /** Start again on the same ports and data dir (stopping first if running); waits healthy. */
  restart(): Promise<void>;
  /** Stop if running and delete dataDir (unless SHOAL_HARNESS_KEEP=1). Idempotent. */
  cleanup(): Promise<void>;
}

/** Extra on every handle the start functions return. */
export interface StartupTiming {
  /** Milliseconds from spawn to healthy for the latest start or restart(). */
  readonly startupMs: number;
}

/** How to run one server: produced by a service module for a data dir and ports. */
export interface LaunchSpec {
  readonly binary: string;
  readonly args: readonly string[];
  /** Where stdout and stderr go. */
  readonly stdioLog: string;
  /** The log shown as ServiceHandle.logFile. */
  readonly logFile: string;
  /** More logs whose tails go into start errors. */
  readonly extraLogs?: readonly string[];
  /** True once the server is usable; polled, must resolve within ~2 s. */
  healthy(): Promise<boolean>;
  /** Ports to give back on cleanup. */
  readonly ports: readonly number[];
}

export interface ManagedServiceOptions {
  /** Service name, e.g. "nats"; also the temp dir prefix `shoal-<name>-`. */
  readonly name: string;
  /** Renders configs into dataDir for freshly allocated ports; called again if a port was taken. */
  configure(dataDir: string): Promise<LaunchSpec>;
  /** Bound on spawn-to-healthy, ms. */
  readonly startTimeoutMs: number;
}

const STOP_GRACE_MS = 20_000;
const PORT_ATTEMPTS = 3;

async function tail(file: string, lines = 25): Promise<string> {
  try {
    const text = await readFile(file, "utf8");
    const last = text.trimEnd().split("\n").slice(-lines).join("\n");
    return last === "" ? "" : `--- last lines of ${file} ---\n${last}`;
  } catch {
    return "";
  }
}

/**
 * One server process with its temp dir. Stateful runtime object, so a class; built by
 * {@link ManagedService.start}.
 */
export class ManagedService {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private cleaned = false;
  startupMs = 0;

  private constructor(
    readonly name: string,
    readonly dataDir: string,
    private readonly spec: LaunchSpec,
    private readonly timeoutMs: number,
  ) {}

  /** Creates the temp dir, starts the server and waits until healthy (retrying with new ports on a port clash). */
  static async start(opts: ManagedServiceOptions): Promise<ManagedService> {
    const dataDir = await realpath(await mkdtemp(join(tmpdir(), `shoal-${opts.name}-`)));
    trackDir(dataDir);
    let service: ManagedService | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        const spec = await opts.configure(dataDir);
        service = new ManagedService(opts.name, dataDir, spec, opts.startTimeoutMs);
        try {
          await service.launch();
          return service;
        } catch (err) {
          await service.kill();
          const clash = err instanceof ServiceStartError && /address already in use|address in use|bind/i.test(err.message);
          for (const p of spec.ports) releasePort(p);
          if (!clash || attempt >= PORT_ATTEMPTS) throw err;
        }
      }
    } catch (err) {
      if (process.env.SHOAL_HARNESS_KEEP !== "1") await rm(dataDir, { recursive: true, force: true });
      untrackDir(dataDir);
      throw err;
    }
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get logFile(): string {
    return this.spec.logFile;
  }

  private async launch(): Promise<void> {
    if (this.cleaned) throw new ServiceStartError(this.name, `${this.name}: cannot start after cleanup()`);
    const t0 = performance.now();
    const fd = openSync(this.spec.stdioLog, "a");
    let child: ChildProcess;
    try {
      child = spawn(this.spec.binary, [...this.spec.args], { cwd: this.dataDir, stdio: ["ignore", fd, fd] });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    let exitInfo: string | undefined;
    this.exited = new Promise<void>((resolve) => {
      const done = (info: string): void => {
        exitInfo ??= info;
        if (child.pid !== undefined) untrackProcess(child.pid);
        resolve();
      };
      child.once("exit", (code, signal) => done(signal === null ? `exit code ${code}` : `signal ${signal}`));
      child.once("error", (err) => done(`spawn error: ${err.message}`));
    });
    if (child.pid !== undefined) trackProcess(child.pid, this.dataDir);

    const deadline = Date.now() + this.timeoutMs;
    let delay = 10;
    for (;;) {
      if (exitInfo === undefined && (await this.spec.healthy().catch(() => false)) && this.running) break;
      if (exitInfo !== undefined || !this.running) {
        await this.exited;
        throw await this.startError(`${this.name} exited (${exitInfo ?? "unknown"}) before becoming healthy`);
      }
      if (Date.now() > deadline) {
        throw await this.startError(`${this.name} not healthy ${this.timeoutMs} ms after start (pid ${child.pid})`);
      }
      await sleep(delay);
      delay = Math.min(Math.round(delay * 1.5), 100);
    }
    this.startupMs = Math.round(performance.now() - t0);
  }

  private async startError(headline: string): Promise<ServiceStartError> {
    const logs = [this.spec.stdioLog, ...(this.spec.logFile === this.spec.stdioLog ? [] : [this.spec.logFile]), ...(this.spec.extraLogs ?? [])];
    const tails = (await Promise.all(logs.map((f) => tail(f)))).filter((t) => t !== "");
    const keep = process.env.SHOAL_HARNESS_KEEP === "1" ? [] : [`(the data dir is deleted; SHOAL_HARNESS_KEEP=1 keeps it)`];
    return new ServiceStartError(this.name, [headline, ...tails, ...keep].join("\n"));
  }

  async stop(): Promise<void> {
    if (!this.running) return this.exited;
    this.child?.kill("SIGTERM");
    const timer = sleep(STOP_GRACE_MS).then(() => "timeout" as const);
    if ((await Promise.race([this.exited.then(() => "exited" as const), timer])) === "timeout") this.child?.kill("SIGKILL");
    await this.exited;
  }

  async kill(): Promise<void> {
    if (this.running) this.child?.kill("SIGKILL");
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    try {
      await this.launch();
    } catch (err) {
      await this.kill();
      throw err;
    }
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    await this.stop();
    this.cleaned = true;
    for (const p of this.spec.ports) releasePort(p);
    if (process.env.SHOAL_HARNESS_KEEP !== "1") await rm(this.dataDir, { recursive: true, force: true });
    untrackDir(this.dataDir);
  }

  /** The public handle: plain closures, safe to destructure. */
  handle<Extra extends object>(url: string, port: number, extra: Extra): ServiceHandle & StartupTiming & Extra {
    const startupMs = (): number => this.startupMs;
    return {
      name: this.name,
      url,
      port,
      dataDir: this.dataDir,
      logFile: this.logFile,
      get startupMs() {
        return startupMs();
      },
      stop: () => this.stop(),
      kill: () => this.kill(),
      restart: () => this.restart(),
      cleanup: () => this.cleanup(),
      ...extra,
    };
  }
}
