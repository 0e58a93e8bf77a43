import { useEffect, useMemo, useRef } from "preact/hooks";
import type uPlot from "uplot";
import type { ListReadingsResponse } from "../../../gen/shoal/v1/query_pb.js";
import { Resolution } from "../../../gen/shoal/v1/query_pb.js";
import { useApp } from "../../app-context.js";
import { Loading, Section } from "../../components/bits.js";
import { ErrorBanner } from "../../components/error-banner.js";
import type { ChartSeries } from "../../components/time-chart.js";
import { TimeChart } from "../../components/time-chart.js";
import { useCall } from "../../hooks/use-call.js";
import type { DeviceLive } from "../../hooks/use-device-live.js";
import { LIVE_WINDOW_MS } from "../../hooks/use-device-live.js";
import { navigate } from "../../hooks/use-route.js";
import { formatDuration, formatInt, formatNumber, formatScore, formatTime } from "../../lib/format.js";
import type { Route } from "../../lib/router.js";

type DeviceRoute = Extract<Route, { page: "device" }>;

const SERIES: readonly ChartSeries[] = [
  { label: "value", stroke: "#0b5cad", scale: "y", width: 1.5 },
  { label: "score", stroke: "rgba(194, 65, 12, 0.55)", scale: "score", width: 1 },
];

/** Points asked of ListReadings for a chart: about one per pixel of a wide chart. */
const HISTORY_POINTS = 1000;

const PRESETS: ReadonlyArray<readonly [string, number]> = [
  ["1h", 3600_000],
  ["6h", 6 * 3600_000],
  ["24h", 24 * 3600_000],
  ["7d", 7 * 24 * 3600_000],
];

export interface MetricChartsProps {
  readonly deviceId: string;
  readonly live: DeviceLive;
  readonly history: { readonly fromMs: number; readonly toMs: number } | undefined;
  readonly markers: ReadonlyMap<string, readonly number[]>;
  readonly selectedAt: number | undefined;
  readonly route: DeviceRoute;
  readonly onZoom: (fromMs: number, toMs: number) => void;
  readonly loadingMetrics: boolean;
}

const RESOLUTION: Record<number, string> = {
  [Resolution.RAW]: "raw readings",
  [Resolution.MINUTE]: "1-minute rollups",
  [Resolution.HOUR]: "1-hour rollups",
};

const EMPTY_MARKERS: readonly number[] = [];

/** One chart per metric: live (the last 15 min, seeded from storage, then appended) or a history range. */
export function MetricCharts(props: MetricChartsProps) {
  const { clients } = useApp();
  const { live, history, deviceId } = props;
  const metrics = live.metrics;

  // Live: seed every metric's window once from storage, so the chart does not start empty (and
  // again after the stream reconnects). The stream keeps appending while a history range is shown.
  const seeded = useRef(new Set<string>());
  const seededGeneration = useRef(live.generation);
  const seeding = useRef<AbortController | null>(null);
  useEffect(() => {
    seeding.current = new AbortController();
    return () => seeding.current?.abort();
  }, []);
  useEffect(() => {
    const signal = seeding.current?.signal;
    if (history !== undefined || signal === undefined) return;
    if (seededGeneration.current !== live.generation) {
      seededGeneration.current = live.generation;
      seeded.current.clear();
    }
    const to = Date.now() + 60_000;
    for (const m of metrics) {
      if (seeded.current.has(m)) continue;
      seeded.current.add(m);
      clients.query.listReadings({ deviceId, metric: m, fromMs: BigInt(to - LIVE_WINDOW_MS - 60_000), toMs: BigInt(to), maxPoints: 2000 }, { signal }).then(
        (res) => live.seed(m, res.points),
        () => {
          if (!signal.aborted) seeded.current.delete(m);
        },
      );
    }
  }, [metrics.join("|"), history === undefined, live.generation]);

  const historyKey = history && metrics.length > 0 ? `${deviceId}|${history.fromMs}|${history.toMs}|${metrics.join("|")}` : null;
  const stored = useCall(historyKey, async (signal) => {
    const answers = await Promise.all(metrics.map((m) => clients.query.listReadings({ deviceId, metric: m, fromMs: BigInt(history!.fromMs), toMs: BigInt(history!.toMs), maxPoints: HISTORY_POINTS }, { signal })));
    return new Map(metrics.map((m, i) => [m, answers[i]!] as const));
  });

  const toolbar = (
    <div class="toolbar" role="group" aria-label="Time range">
      <button type="button" class="btn btn-small" aria-pressed={history === undefined} data-testid="device-range-live" onClick={() => navigate({ page: "device", id: deviceId, ...(props.route.atMs !== undefined ? { atMs: props.route.atMs } : {}), ...(props.route.metric ? { metric: props.route.metric } : {}) })}>
        Live ({formatDuration(LIVE_WINDOW_MS)})
      </button>
      {PRESETS.map(([name, span]) => (
        <button
          key={name}
          type="button"
          class="btn btn-small"
          data-testid={`device-range-${name}`}
          onClick={() => {
            const to = Date.now();
            props.onZoom(to - span, to);
          }}
        >
          {name}
        </button>
      ))}
    </div>
  );

  const rangeLabel = history ? `${formatTime(history.fromMs)} – ${formatTime(history.toMs)}` : `last ${formatDuration(LIVE_WINDOW_MS)}, live`;

  return (
    <Section title="Metrics" testid="device-charts" tools={toolbar}>
      <p class="muted chart-hint">
        <span data-testid="device-range-label">{rangeLabel}</span>. Drag across a chart to zoom into history; Back returns.
      </p>
      {history && <ErrorBanner error={stored.error} title="Could not load the history" testid="device-history-error" onRetry={stored.reload} />}
      {metrics.length === 0 && (props.loadingMetrics ? <Loading what="metrics" /> : <p class="muted" data-testid="device-no-metrics">No readings in the last hour; live readings will appear here.</p>)}
      {metrics.map((m) => {
        const markers = props.markers.get(m) ?? props.markers.get("") ?? EMPTY_MARKERS;
        if (history) {
          const res = stored.data?.get(m);
          return <HistoryChart key={`${m}|h`} metric={m} res={res} loading={stored.loading} markers={markers} selectedAt={props.selectedAt} onZoom={props.onZoom} range={[history.fromMs, history.toMs]} />;
        }
        return <LiveChart key={`${m}|l`} metric={m} live={live} markers={markers} selectedAt={props.selectedAt} onZoom={props.onZoom} />;
      })}
    </Section>
  );
}

function LiveChart({ metric, live, markers, selectedAt, onZoom }: { metric: string; live: DeviceLive; markers: readonly number[]; selectedAt: number | undefined; onZoom: (f: number, t: number) => void }) {
  const b = live.buffer(metric);
  const n = b.length;
  const last = n > 0 ? b.y(0, n - 1) : NaN;
  const maxScore = n > 0 ? b.max(1) : NaN;
  const label = `${metric}: ${n} points in the last ${formatDuration(LIVE_WINDOW_MS)}${n > 0 ? `, last ${formatNumber(last)}, highest score ${formatScore(maxScore)}` : ""}`;
  return (
    <figure class="chart-card" data-testid="device-chart" data-metric={metric} data-points={n} data-last-ts={n > 0 ? b.lastX : undefined} data-mode="live">
      <figcaption>
        <strong>{metric}</strong>
        <span class="muted">
          {" "}
          · last <span data-testid="device-chart-last">{n > 0 ? formatNumber(last) : "–"}</span> · max score {n > 0 ? formatScore(maxScore) : "–"}
        </span>
      </figcaption>
      <TimeChart series={SERIES} getData={() => b.view() as uPlot.AlignedData} version={live.version} markers={markers} selectedMarker={selectedAt} onZoom={onZoom} label={label} testid="device-chart-plot" />
    </figure>
  );
}

function HistoryChart(props: { metric: string; res: ListReadingsResponse | undefined; loading: boolean; markers: readonly number[]; selectedAt: number | undefined; onZoom: (f: number, t: number) => void; range: readonly [number, number] }) {
  const { metric, res } = props;
  const points = res?.points ?? [];
  const counter = useRef(0);
  const [data, version] = useMemo((): [uPlot.AlignedData, number] => [[points.map((p) => Number(p.tsMs)), points.map((p) => p.value), points.map((p) => p.score)], ++counter.current], [res]);
  const resolution = res ? (RESOLUTION[res.resolution] ?? "readings") : "";
  const label = `${metric}: ${points.length} points (${resolution}) from ${formatTime(props.range[0])} to ${formatTime(props.range[1])}`;
  return (
    <figure class="chart-card" data-testid="device-chart" data-metric={metric} data-points={points.length} data-mode="history" aria-busy={props.loading ? "true" : undefined}>
      <figcaption>
        <strong>{metric}</strong>
        <span class="muted" data-testid="device-chart-resolution">
          {" "}
          · {res ? `${formatInt(points.length)} points, ${resolution}${res.bucketMs > 0n ? ` (bucket ${formatDuration(res.bucketMs)})` : ""}` : "loading…"}
        </span>
      </figcaption>
      <TimeChart series={SERIES} getData={() => data} version={version} markers={props.markers} selectedMarker={props.selectedAt} onZoom={props.onZoom} xRange={props.range} label={label} testid="device-chart-plot" />
    </figure>
  );
}
