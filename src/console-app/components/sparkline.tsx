import { sparklinePath } from "../lib/sparkline-path.js";

export interface SparklineProps {
  readonly xs: ArrayLike<number>;
  readonly ys: ArrayLike<number>;
  /** What it shows, read by screen readers with the latest value ("Ingest rate, last 5 minutes"). */
  readonly label: string;
  readonly testid: string;
  readonly width?: number;
  readonly height?: number;
}

/** A small SVG line of recent values (no axes): the trend beside a number. */
export function Sparkline({ xs, ys, label, testid, width = 160, height = 36 }: SparklineProps) {
  const d = sparklinePath(xs, ys, width, height);
  return (
    <svg class="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label} data-testid={testid} data-points={Math.min(xs.length, ys.length)}>
      <title>{label}</title>
      <line x1="0" x2={width} y1={height - 0.5} y2={height - 0.5} class="sparkline-base" />
      {d && <path d={d} class="sparkline-line" />}
    </svg>
  );
}
