/**
 * The SVG path of a sparkline: points (x ascending) scaled into a width × height box with the y
 * range starting at 0 (rates are never negative, and a flat line near zero must not look noisy).
 * Returns "" for fewer than two points.
 */
export function sparklinePath(xs: ArrayLike<number>, ys: ArrayLike<number>, width: number, height: number, pad = 1): string {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return "";
  const x0 = xs[0]!;
  const x1 = xs[n - 1]!;
  let yMax = 0;
  for (let i = 0; i < n; i++) if (Number.isFinite(ys[i]!) && ys[i]! > yMax) yMax = ys[i]!;
  if (yMax === 0) yMax = 1;
  const spanX = x1 - x0 || 1;
  const w = width - 2 * pad;
  const h = height - 2 * pad;
  let d = "";
  for (let i = 0; i < n; i++) {
    const y = Number.isFinite(ys[i]!) ? ys[i]! : 0;
    const px = pad + ((xs[i]! - x0) / spanX) * w;
    const py = pad + h - (Math.max(0, y) / yMax) * h;
    d += `${i === 0 ? "M" : "L"}${px.toFixed(1)},${py.toFixed(1)}`;
  }
  return d;
}
