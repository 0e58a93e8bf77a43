/**
 * Pod simulation (issue 18, deliverable 3): the prod overlay of deploy/k8s renders, validates
 * (test/unit/deploy) and runs as processes — this test takes every Shoal container of the
 * rendered prod overlay (its args, its env with Secret/ConfigMap values resolved, its ConfigMap
 * file), runs each as `node bin/shoal.mjs <role>` against real local services with the cluster's
 * names and ports mapped (test/support/pods/pod-process.ts lists the mapping), and checks, as the
 * kubelet would: startup, readiness and liveness probes answer within their budgets; readings
 * published to Mosquitto (anonymous off, dynamic security driven by the bridge pod as its admin)
 * reach ClickHouse through the simulated pods; SIGTERM (after the preStop
 * hook) ends every process with exit code 0 within terminationGracePeriodSeconds, and the
 * readings accepted before are still there. It is not a deployment: no kubelet, no image, no
 * network policies, one pod per workload.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mqtt from "mqtt";
import type { IProbe } from "kubernetes-models/v1/Probe";
import { freePort, startClickHouse, startConsul, startMosquitto, startNats, startRedis, type ServiceHandle } from "../harness/index.js";
import type { MosquittoAdmin } from "../harness/mosquitto.js";
import { createDynsecAccounts } from "../../src/adapters/mqtt/dynsec.js";
import { startWeaviateDouble, type WeaviateDouble } from "../harness/weaviate-double.js";
import { isWorkload, OVERLAYS, renderOverlay, roleOf, type K8sObject, type Workload } from "../unit/deploy/manifests.js";
import { localPorts, podProcess, type PodMapping } from "../support/pods/pod-process.js";
import { probeBudgetMs, untilProbeSucceeds } from "../support/pods/kubelet-probes.js";
import { killPod, startPod, stopPod, type RunningPod } from "../support/pods/pod-runner.js";
import { chQuery, quietLogger, waitFor } from "../support/pipeline.js";

/** A busy 2-core machine: probes get this multiple of the kubelet's budget (they must still answer)… */
const SLACK = 2;
/** …but at most this long here (startup budgets run to 5 minutes; the test has less). */
const MAX_WAIT_MS = 45_000;
const budget = (p: IProbe): number => Math.min(SLACK * probeBudgetMs(p), MAX_WAIT_MS);
/** Readings sent through Mosquitto. */
const READINGS = 30;
/** Partitions of the journal in the simulation (prod: 64), fewer for a small machine; same env mechanism. */
const PARTITIONS = "8";

describe("pod simulation: the rendered prod overlay runs as processes against the local services", () => {
  let objs: K8sObject[];
  let workloads: Workload[];
  let nats: ServiceHandle;
  let mq: ServiceHandle & { readonly admin: MosquittoAdmin };
  let ch: ServiceHandle;
  let consul: ServiceHandle;
  let redis: ServiceHandle;
  let weaviate: WeaviateDouble;
  const pods = new Map<string, RunningPod>();

  const podOf = (role: string): RunningPod => {
    const p = pods.get(role);
    if (p === undefined) throw new Error(`no simulated pod of role ${role}`);
    return p;
  };
  const dump = () => [...pods.values()].map((p) => `--- ${p.pod.role}\n${p.output().slice(-3000)}`).join("\n");

  beforeAll(async () => {
    const rendered = Object.fromEntries(OVERLAYS.map((o) => [o, renderOverlay(o)]));
    // The rendered object list per overlay, for the closing note (printed once).
    console.log(OVERLAYS.map((o) => `overlay ${o} (${rendered[o]!.length} objects):\n${rendered[o]!.map((x) => `  ${x.kind}/${x.metadata.name}`).join("\n")}`).join("\n"));
    objs = rendered.prod!;
    workloads = objs.filter(isWorkload);
    // The broker as production needs it: anonymous off, dynamic security with Shoal's admin.
    [nats, mq, ch, consul, redis] = await Promise.all([startNats(), startMosquitto({ secure: true }), startClickHouse(), startConsul(), startRedis()]);
    weaviate = await startWeaviateDouble({ log: () => {} });
  }, 120_000);

  afterAll(async () => {
    for (const p of pods.values()) {
      killPod(p); // the whole group: also after a failure, no role process is left running
      rmSync(p.pod.env.SHOAL_CONFIG_DIR!, { recursive: true, force: true });
    }
    await weaviate?.close();
    await Promise.all([nats?.cleanup(), mq?.cleanup(), ch?.cleanup(), consul?.cleanup(), redis?.cleanup()]);
  });

  it("every Shoal workload starts, passes its probes, carries readings to ClickHouse and drains on SIGTERM", async () => {
    expect(workloads.map(roleOf).sort()).toEqual(["alerts", "bridge", "console", "gateway", "reports", "runtime"]);

    // The service table: the cluster's Service host:port (as config/prod.yaml and the Secret name
    // them) → the local service. Shoal's own Services (shoal-runtime:50055, shoal-gateway:50061, …)
    // point at the local ports given to the container ports they target.
    const own = await localPorts(workloads, objs, freePort);
    const services: Record<string, string> = {
      ...own.services,
      "nats:4222": nats.url,
      "mqtt-broker:1883": mq.url,
      "clickhouse-shoal:8123": ch.url,
      "consul-server:8500": consul.url,
      "redis-master:6379": redis.url,
      "weaviate:80": weaviate.url,
    };
    const mapping: PodMapping = {
      services,
      credentials: {
        SHOAL__CLICKHOUSE__PASSWORD: { SHOAL__CLICKHOUSE__USERNAME: "default", SHOAL__CLICKHOUSE__PASSWORD: "" },
        // The committed placeholder is not a key (32 bytes): the console refuses to start with it.
        SHOAL_SECRET_KEY: { SHOAL_SECRET_KEY: randomBytes(32).toString("base64") },
        // The broker's dynamic-security admin of this run (the bridge creates its own account, shoal-bridge).
        SHOAL__MQTT__ADMIN_PASSWORD: { SHOAL__MQTT__ADMIN_PASSWORD: mq.admin.password },
      },
      // One local NATS server: streams with 1 replica (prod: 3); fewer partitions and workers (2 cores).
      extra: { SHOAL__NATS__REPLICAS: "1", SHOAL__NATS__PARTITIONS: PARTITIONS, SHOAL__RUNTIME__WORKERS: "1", SHOAL__CLICKHOUSE__FLUSHINTERVAL: "200ms" },
      localPort: own.localPort,
    };
    const byRole = new Map(workloads.map((w) => [roleOf(w), w]));
    const built = new Map([...byRole].map(([role, w]) => [role, podProcess(w, objs, mapping)] as const));
    // What the test saw, printed once at the end: the mapping per pod, probe results, drains.
    const report = [...built.values()].map((p) => `pod ${p.workload.kind}/${p.workload.metadata.name}: node ${p.argv.join(" ")}\n${p.mapped.map((m) => `  ${m}`).join("\n")}`);

    // Start order: runtime and gateway first (the others' dependencies), the rest once the
    // runtime's startup probe passed — a kubelet would restart a container that failed on a
    // dependency not up yet; this simulation has no restarts, so it orders instead.
    for (const role of ["runtime", "gateway"]) pods.set(role, startPod(built.get(role)!));
    const rt = podOf("runtime");
    const rtStartup = await untilProbeSucceeds(rt.pod.container.startupProbe!, rt.pod.container, rt.pod.ports, budget(rt.pod.container.startupProbe!));
    expect(rtStartup.ok, `runtime startup probe: ${rtStartup.detail}\n${dump()}`).toBe(true);
    for (const role of ["bridge", "console", "alerts", "reports"]) pods.set(role, startPod(built.get(role)!));

    // Probes, as the kubelet runs them: startup first, then readiness and liveness.
    for (const p of pods.values()) {
      const c = p.pod.container;
      const kinds = [["startup", c.startupProbe], ["readiness", c.readinessProbe], ["liveness", c.livenessProbe]] as const;
      for (const [kind, probe] of kinds) {
        if (probe === undefined) continue;
        const r = await untilProbeSucceeds(probe, c, p.pod.ports, budget(probe));
        report.push(`probe ${p.pod.role} ${kind}: ${r.ok ? "ok" : "FAILED"} (${r.detail}) after ${r.afterMs} ms, budget ${probeBudgetMs(probe)} ms`);
        expect(r.ok, `${p.pod.role} ${kind} probe: ${r.detail}\n${dump()}`).toBe(true);
      }
      // Every process still runs (a role without probes is checked by this alone).
      expect(p.child.exitCode, `${p.pod.role} exited early\n${p.output()}`).toBeNull();
    }

    // Readings through Mosquitto → bridge → JetStream → runtime → ClickHouse.
    // A gateway account (publishes for several devices, as the simulator's), made with the broker's admin.
    const gateway = { username: "pod-simulation-publisher", password: randomBytes(18).toString("base64url"), role: "gateway" as const };
    const accounts = await createDynsecAccounts({ url: mq.url, username: mq.admin.username, password: mq.admin.password, log: quietLogger("dynsec") });
    await accounts.ensureServiceAccounts([gateway]);
    await accounts.close();
    const pub = await mqtt.connectAsync(mq.url, { protocolVersion: 5, clientId: "pod-simulation-publisher", username: gateway.username, password: gateway.password });
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < READINGS; i++) {
      const deviceId = `pod-${i % 5}`;
      await pub.publishAsync(`devices/${deviceId}/readings`, JSON.stringify({ deviceId, seq: Math.floor(i / 5) + 1, tsMs: t0 + i * 1000, metrics: { t: 20 + (i % 7) } }), { qos: 1 });
    }
    await pub.endAsync();
    const count = () => chQuery<{ n: string }>(ch.url, "shoal", "SELECT count() AS n FROM (SELECT DISTINCT device_id, seq FROM readings WHERE device_id LIKE 'pod-%')").catch(() => [{ n: "0" }]);
    await waitFor(count, (r) => Number(r[0]?.n) === READINGS, 60_000, `${READINGS} readings in ClickHouse`);

    // SIGTERM to every pod at once (a node drain), each after its preStop hook.
    const results = await Promise.all([...pods.values()].map(async (p) => [p.pod.role, await stopPod(p)] as const));
    for (const [role, r] of results) {
      report.push(`SIGTERM ${role}: exit ${String(r.code)}${r.signal !== null ? ` (${r.signal})` : ""} after ${r.tookMs} ms, grace ${r.graceMs} ms`);
      expect(r.killed, `${role} still running at the end of its grace period\n${podOf(role).output()}`).toBe(false);
      expect(r.code, `${role} exit code\n${podOf(role).output()}`).toBe(0);
      expect(r.tookMs).toBeLessThan(r.graceMs);
    }

    console.log(report.join("\n"));

    // Nothing accepted was lost by the drain: every reading is still in ClickHouse once all exited.
    expect(Number((await count())[0]!.n)).toBe(READINGS);
  }, 170_000);
});
