import { request } from "node:http";
import { connect as tcpConnect } from "node:net";
import { spawnSync } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import type { IProbe } from "kubernetes-models/v1/Probe";
import type { IContainer } from "kubernetes-models/v1/Container";

/**
 * Kubernetes probes checked against a local process as the kubelet checks them (pod simulation):
 * httpGet succeeds on a status 200–399, grpc on grpc.health.v1.Health/Check answering SERVING for
 * the probe's service ("" when unset), tcpSocket on an accepted connection, exec on exit code 0;
 * each attempt bounded by timeoutSeconds (default 1). Ports are the container's, mapped to the
 * process's local ports by `ports` (named ports resolved through the container's port list).
 */

/** What one attempt saw. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly detail: string;
}

const HealthClient = grpc.makeGenericClientConstructor(healthService, "Health");

function localPort(port: number | string, c: IContainer, ports: ReadonlyMap<number, number>): number {
  const n = typeof port === "number" ? port : /^\d+$/.test(port) ? Number(port) : c.ports?.find((p) => p.name === port)?.containerPort;
  const local = n === undefined ? undefined : ports.get(n);
  if (local === undefined) throw new Error(`probe port ${String(port)} is not a declared container port`);
  return local;
}

function httpGet(port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET", timeout: timeoutMs }, (res) => {
      res.resume();
      const s = res.statusCode ?? 0;
      resolve({ ok: s >= 200 && s < 400, detail: `HTTP ${s}` });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ ok: false, detail: e.message }));
    req.end();
  });
}

function grpcHealth(port: number, service: string, timeoutMs: number): Promise<ProbeResult> {
  const client = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise<ProbeResult>((resolve) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (v: { service: string }) => Buffer.from(healthService.Check!.requestSerialize(v)),
      (b: Buffer) => healthService.Check!.responseDeserialize(b) as { status: string | number },
      { service },
      { deadline: Date.now() + timeoutMs },
      (err, res) => {
        if (err !== null || res === undefined) resolve({ ok: false, detail: err?.message ?? "no answer" });
        else resolve({ ok: res.status === "SERVING" || res.status === 1, detail: `status ${String(res.status)}` });
      },
    );
  }).finally(() => client.close());
}

function tcp(port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: "127.0.0.1", port, timeout: timeoutMs });
    s.on("connect", () => {
      s.destroy();
      resolve({ ok: true, detail: "connected" });
    });
    s.on("timeout", () => s.destroy(new Error("timeout")));
    s.on("error", (e) => resolve({ ok: false, detail: e.message }));
  });
}

/** One attempt of a probe, as the kubelet makes it. */
export async function probeOnce(p: IProbe, c: IContainer, ports: ReadonlyMap<number, number>): Promise<ProbeResult> {
  const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
  if (p.httpGet !== undefined) return httpGet(localPort(p.httpGet.port, c, ports), p.httpGet.path ?? "/", timeoutMs);
  if (p.grpc !== undefined) return grpcHealth(localPort(p.grpc.port, c, ports), p.grpc.service ?? "", timeoutMs);
  if (p.tcpSocket !== undefined) return tcp(localPort(p.tcpSocket.port, c, ports), timeoutMs);
  if (p.exec?.command !== undefined) {
    const [cmd, ...args] = p.exec.command;
    const r = spawnSync(cmd!, args, { timeout: timeoutMs });
    return { ok: r.status === 0, detail: `exit ${String(r.status)}` };
  }
  throw new Error("probe without a handler");
}

/**
 * The kubelet's time before it gives up on a probe that never succeeds: initialDelaySeconds +
 * failureThreshold × periodSeconds (defaults 0, 3, 10), in ms.
 */
export const probeBudgetMs = (p: IProbe): number => ((p.initialDelaySeconds ?? 0) + (p.failureThreshold ?? 3) * (p.periodSeconds ?? 10)) * 1000;

/**
 * Tries a probe until it succeeds, at most `budgetMs` (the caller's multiple of probeBudgetMs),
 * one attempt every `everyMs` (shorter than periodSeconds: the test needs not wait for the
 * kubelet's schedule). Returns the successful result and when it came, or the last failure.
 */
export async function untilProbeSucceeds(p: IProbe, c: IContainer, ports: ReadonlyMap<number, number>, budgetMs: number, everyMs = 500): Promise<ProbeResult & { afterMs: number }> {
  const start = Date.now();
  for (;;) {
    const r = await probeOnce(p, c, ports);
    const afterMs = Date.now() - start;
    if (r.ok || afterMs > budgetMs) return { ...r, afterMs };
    await new Promise((res) => setTimeout(res, everyMs));
  }
}
