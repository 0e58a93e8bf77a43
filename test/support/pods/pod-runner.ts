import { spawn, type ChildProcess } from "node:child_process";
import type { PodProcess } from "./pod-process.js";

/**
 * A simulated pod's process: started with exactly its mapped environment (nothing inherited from
 * the test but PATH), output kept for failure messages, and stopped as the kubelet stops a
 * container: the preStop exec hook first, then SIGTERM, within terminationGracePeriodSeconds.
 */
export interface RunningPod {
  readonly pod: PodProcess;
  readonly child: ChildProcess;
  /** The process's output so far (stdout and stderr). */
  output(): string;
  /** The exit code, once it exited. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `node <argv>` with the pod's environment, in a process group of its own: bin/shoal.mjs
 * runs the role as a child process, which a SIGKILL of bin/shoal.mjs alone would leave running
 * (as a container's other processes die with it, {@link killPod} kills the group).
 */
export function startPod(pod: PodProcess): RunningPod {
  const child = spawn(process.execPath, [...pod.argv], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...pod.env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  return { pod, child, output: () => out, exit };
}

/** SIGKILLs the pod's whole process group (bin/shoal.mjs and the role it runs), as a container's end does. */
export function killPod(p: RunningPod): void {
  if (p.child.pid === undefined) return;
  try {
    process.kill(-p.child.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** What stopping a pod showed. */
export interface StopResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** From the start of the preStop hook to the exit (the kubelet's grace period counts the hook). */
  readonly tookMs: number;
  readonly graceMs: number;
  /** Killed with SIGKILL at the end of the grace period (as the kubelet would). */
  readonly killed: boolean;
}

/**
 * Stops a pod as the kubelet does: runs the container's preStop exec hook (a local command, e.g.
 * `sleep 5`), sends SIGTERM, and SIGKILLs at terminationGracePeriodSeconds (default 30).
 */
export async function stopPod(p: RunningPod): Promise<StopResult> {
  const graceMs = (p.pod.workload.spec.template.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
  const start = Date.now();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    killPod(p);
  }, graceMs);
  const hook = p.pod.container.lifecycle?.preStop?.exec?.command;
  if (hook !== undefined && hook.length > 0) {
    await new Promise<void>((r) => spawn(hook[0]!, hook.slice(1), { stdio: "ignore" }).once("exit", () => r()));
  }
  p.child.kill("SIGTERM");
  const { code, signal } = await p.exit;
  clearTimeout(timer);
  return { code, signal, tookMs: Date.now() - start, graceMs, killed };
}
