import type { NatsConnection } from "@nats-io/transport-node";
import type { ShoalConfig } from "../../config/index.js";
import type { Log } from "../../ports/log.js";
import { systemClock } from "../../base/clock.js";
import { ALERT_RELAY_TABLES, startAlertRelay, startNotifier, type AlertRelay, type AlertRelayStats, type Notifier, type NotifierStats } from "../../alerts/index.js";
import { LeaderElection, type LeaderStats } from "../../cluster/leader-election.js";
import { createConsulLocks, createConsulSessions } from "../../adapters/consul/index.js";
import { createAlertConsumer, createAlertPublisher, ensureAlertStream } from "../../adapters/nats/alert-stream.js";
import { createEventPublisher } from "../../adapters/nats/event-publisher.js";
import { createNotifiedKv } from "../../adapters/nats/notified-kv.js";
import { createRowLogReader } from "../../adapters/nats/row-log-reader.js";
import { watchSilences } from "../../adapters/nats/silences-kv.js";

/** A running alerts role. */
export interface AlertsRole {
  stats(): { relay: AlertRelayStats | undefined; notifier: NotifierStats | undefined; leader: boolean; election: LeaderStats | undefined };
  close(): Promise<void>;
}

/** Consul key of the notifier's leadership (one notifier per cluster: storm control sees every transition). */
export const NOTIFIER_LEADER_KEY = "shoal/alerts/notifier";

/**
 * The alerts role (docs/adr/0016-alerts.md): the relay (row log → SHOAL_ALERTS, de-duplicated by
 * message id) and the notifier (SHOAL_ALERTS → silences → storm control → webhooks). With
 * `consul.url` both run on one process of the cluster, elected through a Consul session (a killed
 * leader is replaced within TTL..2×TTL; the durable consumers resume where it stopped); without it
 * this process runs them alone (run one).
 */
export async function startAlertsRole(cfg: ShoalConfig, log: Log, deps: { readonly nc: NatsConnection }): Promise<AlertsRole> {
  const { nc } = deps;
  await ensureAlertStream(nc, { replicas: cfg.nats.replicas, duplicateWindowMs: Math.max(cfg.nats.duplicateWindowMs, 120_000) });
  const events = createEventPublisher(nc);
  const [marks, silences] = await Promise.all([createNotifiedKv(nc, { replicas: cfg.nats.replicas }), watchSilences(nc, { replicas: cfg.nats.replicas, log })]);
  let relay: AlertRelay | undefined;
  let notifier: Notifier | undefined;
  // Relay and notifier run together on the leader: one relay keeps each device's transitions in
  // order on the stream (two would interleave row log entries), one notifier sees every transition.
  const runNotifier = async (signal: AbortSignal) => {
    relay = startAlertRelay({
      feed: createRowLogReader(nc, { name: "shoal-alert-relay", tables: ALERT_RELAY_TABLES }),
      publisher: createAlertPublisher(nc),
      events,
      log,
    });
    notifier = await startNotifier(
      { feed: createAlertConsumer(nc), marks, state: marks, silences, events, log, clock: systemClock },
      { targets: cfg.alerts.webhooks, storm: cfg.alerts.storm },
    );
    log.info({ targets: cfg.alerts.webhooks.map((t) => t.name), stormMaxPerMinute: cfg.alerts.storm.maxPerMinute }, "alert notifier started");
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
    await notifier.stop();
    await relay.stop();
    notifier = undefined;
  };
  let election: LeaderElection | undefined;
  let consul: { close(): void }[] = [];
  const alone = new AbortController();
  let aloneDone: Promise<void> | undefined;
  if (cfg.consul.url !== undefined) {
    const conn = { url: cfg.consul.url, ...(cfg.consul.token !== undefined ? { token: cfg.consul.token } : {}) };
    const locks = createConsulLocks(conn);
    const sessions = createConsulSessions(conn);
    consul = [locks, sessions];
    election = LeaderElection.start({ locks, sessions, log, clock: systemClock }, { key: NOTIFIER_LEADER_KEY, ttlMs: cfg.reports.sessionTtlMs, name: `shoal-notifier ${cfg.nodeId}` }, runNotifier);
  } else {
    aloneDone = runNotifier(alone.signal);
  }
  return {
    stats: () => ({ relay: relay?.stats(), notifier: notifier?.stats(), leader: election?.isLeader() ?? true, election: election?.stats() }),
    async close() {
      await election?.close();
      alone.abort();
      await aloneDone;
      await silences.stop();
      for (const c of consul) c.close();
    },
  };
}
