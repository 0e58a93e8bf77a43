import type { FleetQuery, FleetRow } from "../../ports/read-model.js";
import type { BoundedQueries } from "./client.js";
import { sqlMs } from "./sql.js";
import { ANALYSIS_INCIDENT_SQL, ANALYSIS_KEY_SQL } from "../../domain/tables.js";

/** Seconds of a ms time, for the DateTime columns that partition and prune parts. */
const sec = (ms: number) => sqlMs(Math.floor(ms / 1000));

/** `ts`/`ts_ms` of [fromMs, toMs): `ts` first so that ClickHouse skips parts (minmax of the partition key) outside it. */
const between = (fromMs: number, toMs: number) =>
  `ts >= toDateTime(${sec(fromMs)}) AND ts <= toDateTime(${sec(toMs)}) AND ts_ms >= ${sqlMs(fromMs)} AND ts_ms < ${sqlMs(toMs)}`;

/**
 * The fleet's figures on ClickHouse (ReadModel.fleet), four small queries at once:
 * - device states from device_status, one merged row per device (no raw readings; the same rule
 *   as ListDevices' `online`, see src/query/convert.ts). Aliases differ from the columns because
 *   18.16 resolves aliases in WHERE/HAVING too;
 * - readings in the rate window from `readings`: no index on time inside a month's partition, but
 *   the `ts` bounds let ClickHouse skip every part whose time range ends before the window, so it
 *   reads the newest parts only (the rollups count metric values, not readings, and have minute
 *   buckets: a 60 s window cannot be read from them exactly);
 * - anomalies in the rate window and the top list from `analyses` (one row per anomaly: small),
 *   deduplicated by the anomaly's identity as ListDevices counts them, and their incidents (the
 *   anomaly that opened each: ANALYSIS_INCIDENT_SQL); the top list ranks by incidents first.
 */
export function createFleetQuery(db: BoundedQueries): (q: FleetQuery, signal?: AbortSignal) => Promise<FleetRow> {
  return async (q, signal) => {
    const onlineSince = q.nowMs - q.offlineAfterMs;
    const rateFrom = q.nowMs - q.rateWindowMs;
    const anomalyFrom = q.nowMs - q.anomalyWindowMs;
    const reportedOffline = "ev_kind = 'offline' AND ev_at >= seen";
    const [states, readings, anomalies, top] = await Promise.all([
      db.rows<{ devices: string; offline: string; online: string }>(
        `SELECT count() AS devices, countIf(${reportedOffline}) AS offline, countIf(NOT (${reportedOffline}) AND seen >= ${sqlMs(onlineSince)}) AS online
         FROM (SELECT maxMerge(last_seen_ms) AS seen, argMaxMerge(last_event_kind) AS ev_kind, maxMerge(last_event_at_ms) AS ev_at
               FROM device_status GROUP BY device_id HAVING seen > 0 OR ev_at > 0)`,
        signal,
      ),
      db.rows<{ n: string }>(`SELECT count() AS n FROM readings WHERE ${between(rateFrom, q.nowMs)}`, signal),
      db.rows<{ n: string; i: string }>(
        `SELECT uniqExact(device_id, ${ANALYSIS_KEY_SQL}) AS n, uniqExact(device_id, ${ANALYSIS_INCIDENT_SQL}) AS i FROM analyses WHERE ${between(rateFrom, q.nowMs)}`,
        signal,
      ),
      q.top <= 0
        ? Promise.resolve([])
        : db.rows<{ device_id: string; n: string; i: string; top_score: number; last_ms: string }>(
            `SELECT device_id, uniqExact(${ANALYSIS_KEY_SQL}) AS n, uniqExact(${ANALYSIS_INCIDENT_SQL}) AS i, max(score) AS top_score, max(ts_ms) AS last_ms FROM analyses
             WHERE ${between(anomalyFrom, q.nowMs)}
             GROUP BY device_id ORDER BY i DESC, n DESC, top_score DESC, device_id LIMIT ${sqlMs(q.top)}`,
            signal,
          ),
    ]);
    const s = states[0];
    const devices = Number(s?.devices ?? 0);
    const offline = Number(s?.offline ?? 0);
    const online = Number(s?.online ?? 0);
    return {
      devices,
      online,
      offline,
      silent: devices - online - offline,
      readingsInRateWindow: Number(readings[0]?.n ?? 0),
      anomaliesInRateWindow: Number(anomalies[0]?.n ?? 0),
      incidentsInRateWindow: Number(anomalies[0]?.i ?? 0),
      top: top.map((r) => ({ deviceId: r.device_id, anomalies: Number(r.n), incidents: Number(r.i), maxScore: Number(r.top_score), lastAnomalyMs: Number(r.last_ms) })),
    };
  };
}
