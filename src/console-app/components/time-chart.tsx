import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

/** One line of a chart. */
export interface ChartSeries {
  readonly label: string;
  readonly stroke: string;
  /** "y" (left axis) or "score" (right axis, 0..1). */
  readonly scale: "y" | "score";
  readonly width?: number;
  readonly dash?: number[];
}

export interface TimeChartProps {
  readonly series: readonly ChartSeries[];
  /** The data, [x (ms), ...one column per series]; read again whenever `version` changes. */
  readonly getData: () => uPlot.AlignedData;
  readonly version: number;
  /** Times (ms) of anomalies, drawn as vertical marks; `selectedMarker` drawn heavier. */
  readonly markers: readonly number[];
  readonly selectedMarker?: number;
  /** A drag-selection over the plot (from, to in ms): the page zooms into history. */
  readonly onZoom?: (fromMs: number, toMs: number) => void;
  /** Fixed x range (history) or undefined (follow the data). */
  readonly xRange?: readonly [number, number];
  /** Summary read by screen readers ("temperature, 300 points, last 21.4"). */
  readonly label: string;
  readonly testid: string;
  readonly height?: number;
}

const MARK = "#b3261e";

/**
 * A uPlot time chart (canvas, appends cheaply): a value line on the left axis, the anomaly score on
 * the right one (0..1), anomaly markers, and drag-to-zoom handed to the page (which puts the range
 * in the URL, so Back undoes a zoom).
 */
export function TimeChart(props: TimeChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const live = useRef(props);
  live.current = props;

  useLayoutEffect(() => {
    const el = host.current;
    if (el === null) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: props.height ?? 180,
      ms: 1,
      scales: {
        x: { time: true, ...(props.xRange ? { range: () => [live.current.xRange![0], live.current.xRange![1]] } : {}) },
        score: { range: [0, 1] },
      },
      series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.stroke, width: s.width ?? 1.5, scale: s.scale, ...(s.dash ? { dash: s.dash } : {}), points: { show: false } }))],
      axes: [
        { stroke: "#444c56", grid: { stroke: "#e6e8eb" }, ticks: { stroke: "#d0d7de" } },
        { scale: "y", stroke: "#444c56", grid: { stroke: "#eef0f2" }, ticks: { stroke: "#d0d7de" }, size: 56 },
        { scale: "score", side: 1, stroke: "#8a3d0a", grid: { show: false }, ticks: { stroke: "#d0d7de" }, size: 40, values: (_u, vals) => vals.map((v) => v.toFixed(1)) },
      ],
      cursor: { drag: { x: true, y: false, setScale: false, dist: 8 } },
      legend: { live: true },
      hooks: {
        setSelect: [
          (u) => {
            const { left, width } = u.select;
            if (width < 8) return;
            const from = Math.round(u.posToVal(left, "x"));
            const to = Math.round(u.posToVal(left + width, "x"));
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            if (to > from) live.current.onZoom?.(from, to);
          },
        ],
        draw: [
          (u) => {
            const { markers, selectedMarker } = live.current;
            if (markers.length === 0) return;
            const ctx = u.ctx;
            const { top, height } = u.bbox;
            const [min, max] = [u.scales["x"]!.min ?? -Infinity, u.scales["x"]!.max ?? Infinity];
            ctx.save();
            for (const m of markers) {
              if (m < min || m > max) continue;
              const x = Math.round(u.valToPos(m, "x", true)) + 0.5;
              const selected = m === selectedMarker;
              ctx.strokeStyle = MARK;
              ctx.globalAlpha = selected ? 1 : 0.55;
              ctx.lineWidth = (selected ? 3 : 1) * devicePixelRatio;
              ctx.beginPath();
              ctx.moveTo(x, top);
              ctx.lineTo(x, top + height);
              ctx.stroke();
              ctx.fillStyle = MARK;
              ctx.beginPath();
              ctx.arc(x, top + 4 * devicePixelRatio, (selected ? 4 : 3) * devicePixelRatio, 0, 2 * Math.PI);
              ctx.fill();
            }
            ctx.restore();
          },
        ],
      },
    };
    const u = new uPlot(opts, live.current.getData(), el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (Math.abs(w - u.width) > 1) u.setSize({ width: w, height: u.height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its shape changes (series, fixed range); data flows through setData.
  }, [props.series.map((s) => s.label).join("|"), props.xRange?.[0], props.xRange?.[1], props.height]);

  useEffect(() => {
    plot.current?.setData(props.getData(), true);
  }, [props.version]);

  useEffect(() => {
    plot.current?.redraw(false);
  }, [props.markers, props.selectedMarker]);

  return <div ref={host} class="chart" role="img" aria-label={props.label} data-testid={props.testid} />;
}
