/**
 * The read model port: what the query service reads from the time-series store (ClickHouse in
 * production: src/adapters/clickhouse/read-model.ts). Plain data; times in ms since the epoch;
 * ranges [fromMs, toMs). Callers validate arguments first (src/query/validate.ts).
 */

/** A device as the fleet page shows it. */
export interface DeviceRow {
  readonly deviceId: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly readings: number;
  readonly epoch: number;
  readonly lastSeq: number;
  /** Last lifecycle event kind (online/offline/restarted) and when; "" and 0 when none. */
  readonly lastEvent: string;
  readonly lastEventMs: number;
  /** Anomalies (analyses) since the request's `anomaliesSinceMs`. */
  readonly anomalies: number;
  /**
   * Incidents those anomalies make: anomalies that joined an incident another one opened count
   * once, with it (an incident opened before `anomaliesSinceMs` counts when one of its anomalies
   * is in the window).
   */
  readonly incidents: number;
}

export interface DeviceQuery {
  /** Devices whose id starts with this ("" = all). */
  readonly prefix: string;
  /** Only ids greater than this (paging). */
  readonly after: string;
  readonly limit: number;
  readonly anomaliesSinceMs: number;
}

/** A stored time series tier. */
export type Tier = "raw" | "1m" | "1h";

/** One point of a series: a raw reading or a bucket of a rollup. */
export interface SeriesPoint {
  readonly tsMs: number;
  /** The value (raw) or the mean. */
  readonly value: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
  /** Sum of squares of the values (for stddev), raw: value². */
  readonly sumSq: number;
  readonly score: number;
  readonly epoch: number;
  readonly seq: number;
}

export interface SeriesQuery {
  readonly deviceId: string;
  readonly metric: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly tier: Tier;
  /** Rollups: points are buckets of this width (a multiple of the tier's), aligned to the epoch. */
  readonly bucketMs: number;
  /** Most points returned (raw: the oldest first). */
  readonly limit: number;
}

/** An anomaly and its explanation. */
export interface AnalysisRow {
  readonly deviceId: string;
  readonly epoch: number;
  readonly seq: number;
  readonly tsMs: number;
  readonly metric: string;
  readonly score: number;
  readonly summary: string;
  readonly likelyCause: string;
  readonly suggestedAction: string;
  readonly provider: string;
  readonly model: string;
  readonly cached: boolean;
  readonly degraded: boolean;
  /** Why it fired (src/domain/anomaly-reasons.ts); empty for rows stored before reasons existed. */
  readonly reasons: readonly { readonly metric: string; readonly term: string; readonly score: number }[];
  /**
   * The incident: the (epoch, seq, tsMs) of the anomaly that opened it. Its own unless it joined an
   * incident still open (then it has no explanation: the incident's first anomaly has it). tsMs
   * tells a counterless device's anomalies (seq 0) apart.
   */
  readonly incidentEpoch: number;
  readonly incidentSeq: number;
  readonly incidentTsMs: number;
}

/** An anomaly's identity: its reading's (a counterless device's readings all have seq 0) and metric. */
export interface AnomalyKey {
  readonly deviceId: string;
  readonly epoch: number;
  readonly seq: number;
  readonly tsMs: number;
  readonly metric: string;
}

export interface AnalysisQuery {
  /** "" = the whole fleet. */
  readonly deviceId: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly minScore: number;
  readonly limit: number;
}

/** Per metric of one device: readings in the last hour stored, the last value, the highest score. */
export interface MetricRow {
  readonly name: string;
  readonly count: number;
  readonly lastValue: number;
  readonly lastTsMs: number;
  readonly maxScore: number;
}

export interface DeviceEventRow {
  readonly kind: string;
  readonly atMs: number;
  readonly epoch: number;
  readonly lastSeq: number;
  readonly detail: string;
}

/** Readings of one metric of one device, oldest first (for feature vectors of arbitrary windows). */
export interface MetricValues {
  readonly tsMs: readonly number[];
  readonly values: readonly number[];
}

/** What the fleet figures are computed for (WatchFleet). Windows end at `nowMs`. */
export interface FleetQuery {
  readonly nowMs: number;
  /** A device not heard from for longer than this is no longer online (ListDevices' rule). */
  readonly offlineAfterMs: number;
  /** Readings and anomalies are counted over [nowMs - rateWindowMs, nowMs). */
  readonly rateWindowMs: number;
  /** The top list ranks devices by their anomalies over [nowMs - anomalyWindowMs, nowMs). */
  readonly anomalyWindowMs: number;
  /** Most devices in the top list. */
  readonly top: number;
}

/** A device of the fleet's top list: its anomalies (analyses) and their incidents over the anomaly window. */
export interface AnomalousDeviceRow {
  readonly deviceId: string;
  readonly anomalies: number;
  readonly incidents: number;
  readonly maxScore: number;
  readonly lastAnomalyMs: number;
}

/**
 * The fleet at `FleetQuery.nowMs`. Every device is exactly one of online, offline, silent:
 * offline when its last lifecycle event is "offline" and not older than its last reading,
 * otherwise online when heard from within the offline threshold, otherwise silent.
 */
export interface FleetRow {
  readonly devices: number;
  readonly online: number;
  readonly offline: number;
  readonly silent: number;
  /** Readings stored with a time in the rate window (duplicates not yet merged included). */
  readonly readingsInRateWindow: number;
  /** Distinct anomalies (analyses) with a time in the rate window. */
  readonly anomaliesInRateWindow: number;
  /** Distinct incidents of those anomalies (DeviceRow.incidents). */
  readonly incidentsInRateWindow: number;
  /** Most incidents first, then most anomalies, then the highest score, then device id. */
  readonly top: readonly AnomalousDeviceRow[];
}

export interface ReadModel {
  listDevices(q: DeviceQuery, signal?: AbortSignal): Promise<DeviceRow[]>;
  getDevice(deviceId: string, anomaliesSinceMs: number, signal?: AbortSignal): Promise<DeviceRow | undefined>;
  deviceMetrics(deviceId: string, signal?: AbortSignal): Promise<MetricRow[]>;
  deviceEvents(deviceId: string, limit: number, signal?: AbortSignal): Promise<DeviceEventRow[]>;
  /** Stored readings of a metric in a range (raw count), from the 1-minute rollup: cheap. */
  countReadings(deviceId: string, metric: string, fromMs: number, toMs: number, signal?: AbortSignal): Promise<number>;
  series(q: SeriesQuery, signal?: AbortSignal): Promise<SeriesPoint[]>;
  analyses(q: AnalysisQuery, signal?: AbortSignal): Promise<AnalysisRow[]>;
  /** The stored shape vector of an anomaly's window (the `anomaly_windows` row), undefined until written. */
  anomalyWindow(key: AnomalyKey, signal?: AbortSignal): Promise<readonly number[] | undefined>;
  /** Explanations of these anomalies (those stored). */
  explanations(keys: readonly AnomalyKey[], signal?: AbortSignal): Promise<AnalysisRow[]>;
  /** Raw values of a metric in a range, oldest first: the newest `limit` of them. */
  values(deviceId: string, metric: string, fromMs: number, toMs: number, limit: number, signal?: AbortSignal): Promise<MetricValues>;
  /** The whole fleet's figures (WatchFleet): device states, rates over the rate window, the top anomalous devices. */
  fleet(q: FleetQuery, signal?: AbortSignal): Promise<FleetRow>;
}
