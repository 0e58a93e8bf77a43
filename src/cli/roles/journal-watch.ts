import type { NatsConnection } from "@nats-io/transport-node";
import type { Log } from "../../ports/log.js";
import type { MetricsRegistry } from "../../ports/metrics.js";
import type { IncidentReporter } from "../../ports/incidents.js";
import { createIncidentReporter } from "../../observability/incidents.js";
import { PLATFORM_EVENTS_SUBJECT } from "../../domain/subjects.js";
import { systemClock } from "../../base/clock.js";
import { JournalWatchdog, type JournalWatchdogOptions } from "../../node/journal-watchdog.js";
import { createNatsJournalProbe, createNatsJournalRepair } from "../../adapters/nats/journal-health.js";
import type { JournalOptions } from "../../adapters/nats/streams.js";
import type { KvSnapshotStoreOptions } from "../../adapters/nats/kv-snapshot-store.js";

/**
 * The incident reporter of a role process (one per process: `shoal up` makes one and hands it to
 * every role it hosts): error log line, `shoal_incidents_total{kind}`, degraded health, and the
 * event on `shoal.events.platform` published on `nc` (best effort: the incident may be NATS).
 */
export function roleIncidents(nc: NatsConnection, log: Log, role: string, metrics?: MetricsRegistry): IncidentReporter {
  return createIncidentReporter({
    log,
    clock: systemClock,
    role,
    ...(metrics ? { metrics } : {}),
    publish: (event) => nc.publish(PLATFORM_EVENTS_SUBJECT, JSON.stringify(event)),
  });
}

/** What a role's journal watchdog watches and how it resumes. */
export interface JournalWatchOptions {
  readonly journal: JournalOptions;
  /** The runtime's snapshot bucket (re-created when missing). */
  readonly bucket?: KvSnapshotStoreOptions & { readonly bucket: string };
  readonly partitions?: JournalWatchdogOptions["partitions"];
  readonly received?: JournalWatchdogOptions["received"];
  readonly skipped?: JournalWatchdogOptions["skipped"];
  readonly acked?: JournalWatchdogOptions["acked"];
  readonly onReset?: JournalWatchdogOptions["onReset"];
  readonly publishes?: JournalWatchdogOptions["publishes"];
  /** More streams to watch and how to re-create them (the runtime's row log). */
  readonly extra?: { readonly streams: readonly string[]; ensure(): Promise<void> };
}

/** Start the journal watchdog of a role on its NATS connection (every second). */
export function startJournalWatch(nc: NatsConnection, log: Log, incidents: IncidentReporter, o: JournalWatchOptions): JournalWatchdog {
  const watchdog = new JournalWatchdog({
    probe: createNatsJournalProbe(nc, { stream: o.journal.stream, ...(o.bucket ? { bucket: o.bucket.bucket } : {}), ...(o.extra ? { extraStreams: o.extra.streams } : {}) }),
    repair: createNatsJournalRepair(nc, o.journal, o.bucket, o.extra?.ensure),
    incidents,
    log,
    clock: systemClock,
    intervalMs: 1000,
    ...(o.partitions ? { partitions: o.partitions } : {}),
    ...(o.received ? { received: o.received } : {}),
    ...(o.skipped ? { skipped: o.skipped } : {}),
    ...(o.acked ? { acked: o.acked } : {}),
    ...(o.onReset ? { onReset: o.onReset } : {}),
    ...(o.publishes ? { publishes: o.publishes } : {}),
  });
  watchdog.start();
  return watchdog;
}
