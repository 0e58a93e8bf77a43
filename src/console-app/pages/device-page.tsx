import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import type { WatchClusterResponse } from "../../gen/shoal/v1/admin_pb.js";
import { useApp } from "../app-context.js";
import { Badge } from "../components/bits.js";
import { ErrorBanner } from "../components/error-banner.js";
import { useCall } from "../hooks/use-call.js";
import { useDeviceLive } from "../hooks/use-device-live.js";
import { navigate } from "../hooks/use-route.js";
import { useStream } from "../hooks/use-stream.js";
import type { Placement } from "../lib/placement.js";
import { placementOf } from "../lib/placement.js";
import type { Route } from "../lib/router.js";
import { AnomalyPanel } from "./device/anomaly-panel.js";
import { DeviceState } from "./device/device-state.js";
import { MetricCharts } from "./device/metric-charts.js";

type DeviceRoute = Extract<Route, { page: "device" }>;

const DAY_MS = 24 * 3600_000;

/**
 * One device: its actor's state, a live chart per metric (WatchDevice; drag to zoom into stored
 * history, served as rollups by ListReadings), its anomalies with explanations, and the past
 * incidents most like the selected one. Two streams: the device and the cluster (for where the
 * actor lives), both closed when the page is left.
 */
export function DevicePage({ route }: { readonly route: DeviceRoute }) {
  const { clients, nodeId } = useApp();
  const id = route.id;
  const device = useCall(`device:${id}`, (signal) => clients.query.getDevice({ deviceId: id }, { signal }));
  const live = useDeviceLive(id, device.data);
  const history = route.fromMs !== undefined && route.toMs !== undefined ? { fromMs: route.fromMs, toMs: route.toMs } : undefined;

  const [placement, setPlacement] = useState<Placement | undefined>(undefined);
  const [clusterNote, setClusterNote] = useState("");
  useStream<WatchClusterResponse>({
    name: "cluster",
    key: "cluster",
    open: (signal, onHeader) => clients.admin.watchCluster({ intervalMs: 5000 }, { signal, onHeader }),
    onMessage: (m) => {
      const p = placementOf(id, { partitions: m.partitions?.partitions ?? [], workers: m.runtime?.workers ?? [] }, m.info?.nodeId ?? nodeId);
      setPlacement((old) => (old && p && old.partition === p.partition && old.owner === p.owner && old.worker === p.worker && old.target === p.target && old.pending === p.pending ? old : p));
      setClusterNote(p === undefined ? (m.unavailable["partitions"] ?? "no partition map") : "");
    },
  });

  // Anomalies of the range shown: the history range, or the last 24 h (then kept live by the stream).
  const analysesKey = `${id}|${history?.fromMs ?? "live"}|${history?.toMs ?? ""}`;
  const analysesCall = useCall(analysesKey, (signal) => {
    const to = history?.toMs ?? Date.now() + 60_000;
    const from = history?.fromMs ?? to - DAY_MS;
    return clients.query.listAnalyses({ deviceId: id, fromMs: BigInt(from), toMs: BigInt(to), limit: 200 }, { signal });
  });
  const { addAnalyses } = live;
  useEffect(() => {
    if (history === undefined && analysesCall.data) addAnalyses(analysesCall.data.analyses);
  }, [analysesCall.data, history === undefined, addAnalyses]);
  const analyses = history ? (analysesCall.data?.analyses ?? []) : live.analyses;

  const onZoom = useCallback((fromMs: number, toMs: number) => navigate({ ...route, fromMs, toMs }), [route]);
  const notFound = device.error?.codeName === "NotFound";
  const online = live.now?.online;

  const markers = useMemo(() => {
    const by = new Map<string, number[]>();
    for (const a of analyses) {
      const list = by.get(a.metric) ?? [];
      list.push(Number(a.tsMs));
      by.set(a.metric, list);
    }
    return by;
  }, [analyses]);

  return (
    <div class="page" data-testid="page-device" data-device-id={id}>
      <div class="page-head">
        <h1>
          <span class="muted">Device</span> <span data-testid="device-id">{id}</span>
        </h1>
        {online !== undefined && (
          <Badge tone={online ? "ok" : "neutral"} testid="device-online">
            {online ? "online" : "offline"}
          </Badge>
        )}
        <a class="back-link" href="#/fleet">
          All devices
        </a>
      </div>
      {notFound ? (
        <ErrorBanner error={`No device "${id}" is stored.`} testid="device-error" />
      ) : (
        <ErrorBanner error={device.error} title="Could not load the device" testid="device-error" onRetry={device.reload} />
      )}
      {live.status.state === "retrying" && <ErrorBanner error={live.status.error} title="Live updates paused" testid="device-stream-error" />}
      <div class="device-grid">
        <div class="device-main">
          <MetricCharts deviceId={id} live={live} history={history} markers={markers} selectedAt={route.atMs} route={route} onZoom={onZoom} loadingMetrics={device.loading} />
          <AnomalyPanel deviceId={id} route={route} history={history} analyses={analyses} loading={analysesCall.loading} error={analysesCall.error} onRetry={analysesCall.reload} />
        </div>
        <aside class="device-side" aria-label="Actor state">
          <DeviceState now={live.now} placement={placement} clusterNote={clusterNote} events={live.events} />
        </aside>
      </div>
    </div>
  );
}
