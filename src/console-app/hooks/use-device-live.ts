import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Analysis, DeviceEvent, GetDeviceResponse, ReadingPoint, WatchDeviceResponse } from "../../gen/shoal/v1/query_pb.js";
import { useApp } from "../app-context.js";
import type { StreamStatus } from "../lib/connection-state.js";
import { joinedIncident } from "../lib/incidents.js";
import { SeriesBuffer } from "../lib/series-buffer.js";
import { useStream } from "./use-stream.js";

/** The live chart window: the last 15 minutes, at most 5,000 points per metric (flat memory for hours). */
export const LIVE_WINDOW_MS = 15 * 60_000;
export const LIVE_CAPACITY = 5000;
/** Analyses and events kept in the lists. */
export const MAX_ANALYSES = 200;
export const MAX_EVENTS = 50;
/** How long the server may hold a reading to send the next ones with it (WatchDeviceRequest.coalesce_ms). */
export const COALESCE_MS = 100;

/** What the device page knows of the actor now: GetDevice's answer patched by the live stream. */
export interface DeviceNow {
  readonly online: boolean;
  readonly epoch: number;
  readonly lastSeq: number;
  readonly lastSeenMs: number;
  readonly firstSeenMs: number;
  readonly readings: number;
  readonly anomalies: number;
  readonly incidents: number;
  readonly lastEvent: string;
  readonly lastEventMs: number;
}

export interface DeviceLive {
  readonly status: StreamStatus;
  /** Metric names in first-seen order (GetDevice's, then any new one the stream brings). */
  readonly metrics: readonly string[];
  /** [value, score] per metric, time-ordered, bounded. */
  readonly buffer: (metric: string) => SeriesBuffer;
  /** Bumped (at most once a frame) when a buffer changed. */
  readonly version: number;
  /** Bumped when the stream reconnected after a gap: the live windows should be seeded again. */
  readonly generation: number;
  readonly analyses: readonly Analysis[];
  readonly events: readonly DeviceEvent[];
  readonly now: DeviceNow | undefined;
  /** Seeds a metric's live window with stored readings (points already there are kept). */
  readonly seed: (metric: string, points: readonly ReadingPoint[]) => void;
  /** Adds analyses from ListAnalyses (deduplicated with the streamed ones, newest first). */
  readonly addAnalyses: (list: readonly Analysis[]) => void;
}

const analysisKey = (a: Analysis) => `${a.tsMs}|${a.metric}|${a.epoch}|${a.seq}`;

function mergeAnalyses(current: readonly Analysis[], more: readonly Analysis[]): readonly Analysis[] {
  const seen = new Set(current.map(analysisKey));
  const fresh = more.filter((a) => !seen.has(analysisKey(a)));
  if (fresh.length === 0) return current;
  return [...current, ...fresh].sort((a, b) => Number(b.tsMs - a.tsMs)).slice(0, MAX_ANALYSES);
}

/**
 * A device's live state from WatchDevice: readings into bounded per-metric windows (redrawn once
 * per animation frame, so a burst costs one render and a hidden tab none), analyses and lifecycle
 * events into bounded lists, and the actor's epoch/seq/last event.
 */
export function useDeviceLive(deviceId: string, initial: GetDeviceResponse | undefined): DeviceLive {
  const { clients } = useApp();
  const buffers = useRef(new Map<string, SeriesBuffer>());
  const [metrics, setMetrics] = useState<readonly string[]>([]);
  const [version, setVersion] = useState(0);
  const [analyses, setAnalyses] = useState<readonly Analysis[]>([]);
  const [events, setEvents] = useState<readonly DeviceEvent[]>([]);
  const [now, setNow] = useState<DeviceNow | undefined>(undefined);
  const [generation, setGeneration] = useState(0);
  const connects = useRef(0);
  const frame = useRef(0);

  const buffer = useCallback((metric: string) => {
    let b = buffers.current.get(metric);
    if (b === undefined) {
      b = new SeriesBuffer(2, { capacity: LIVE_CAPACITY, maxAgeMs: LIVE_WINDOW_MS });
      buffers.current.set(metric, b);
    }
    return b;
  }, []);

  const redraw = useCallback(() => {
    if (frame.current !== 0) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      setVersion((v) => v + 1);
    });
  }, []);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  useEffect(() => {
    if (initial === undefined) return;
    const d = initial.device;
    setMetrics((m) => [...new Set([...initial.metrics.map((x) => x.name), ...m])]);
    setEvents((e) => (e.length > 0 ? e : initial.recentEvents.slice(0, MAX_EVENTS)));
    if (d)
      setNow({
        online: d.online,
        epoch: Number(d.epoch),
        lastSeq: Number(d.lastSeq),
        lastSeenMs: Number(d.lastSeenMs),
        firstSeenMs: Number(d.firstSeenMs),
        readings: Number(d.readings),
        anomalies: Number(d.anomalies),
        incidents: Number(d.incidents),
        lastEvent: d.lastEvent,
        lastEventMs: Number(d.lastEventMs),
      });
  }, [initial]);

  const onMessage = useCallback(
    (m: WatchDeviceResponse) => {
      const item = m.item;
      switch (item.case) {
        case "reading":
        case "readings": {
          const list = item.case === "reading" ? [item.value] : item.value.readings;
          const last = list[list.length - 1];
          if (last === undefined) break;
          const fresh: string[] = [];
          let lastSeenMs = 0;
          for (const r of list) {
            const ts = Number(r.tsMs);
            if (ts > lastSeenMs) lastSeenMs = ts;
            for (const [name, value] of Object.entries(r.values)) {
              if (!buffers.current.has(name) && !fresh.includes(name)) fresh.push(name);
              buffer(name).add(ts, [value, r.scores[name] ?? 0]);
            }
          }
          if (fresh.length > 0) setMetrics((ms) => [...ms, ...fresh.filter((f) => !ms.includes(f))]);
          setNow((n) => (n === undefined ? n : { ...n, online: true, epoch: Number(last.epoch), lastSeq: Number(last.seq), lastSeenMs: Math.max(n.lastSeenMs, lastSeenMs), readings: n.readings + list.length }));
          redraw();
          break;
        }
        case "analysis":
          setAnalyses((list) => mergeAnalyses(list, [item.value]));
          setNow((n) => (n === undefined ? n : { ...n, anomalies: n.anomalies + 1, incidents: n.incidents + (joinedIncident(item.value) ? 0 : 1) }));
          break;
        case "event": {
          const e = item.value;
          setEvents((list) => [e, ...list].slice(0, MAX_EVENTS));
          setNow((n) =>
            n === undefined
              ? n
              : { ...n, lastEvent: e.kind, lastEventMs: Number(e.atMs), epoch: Number(e.epoch) || n.epoch, lastSeq: Number(e.lastSeq) || n.lastSeq, online: e.kind === "offline" ? false : e.kind === "online" || e.kind === "restarted" ? true : n.online },
          );
          break;
        }
        default:
          break;
      }
    },
    [buffer, redraw],
  );

  const status = useStream<WatchDeviceResponse>({
    name: `device:${deviceId}`,
    key: deviceId,
    // Readings come at most ~10 messages a second however fast the device sends (one redraw each).
    open: (signal, onHeader) => clients.query.watchDevice({ deviceId, coalesceMs: COALESCE_MS }, { signal, onHeader }),
    onMessage,
    onConnected: () => {
      // Readings sent while the stream was down are in storage: seed the windows again.
      if (connects.current++ > 0) setGeneration((g) => g + 1);
    },
  });

  const seed = useCallback(
    (metric: string, points: readonly ReadingPoint[]) => {
      const b = buffer(metric);
      for (const p of points) b.add(Number(p.tsMs), [p.value, p.score]);
      redraw();
    },
    [buffer, redraw],
  );

  const addAnalyses = useCallback((list: readonly Analysis[]) => setAnalyses((cur) => mergeAnalyses(cur, list)), []);

  return useMemo(
    () => ({ status, metrics, buffer, version, generation, analyses, events, now, seed, addAnalyses }),
    [status, metrics, buffer, version, generation, analyses, events, now, seed, addAnalyses],
  );
}
