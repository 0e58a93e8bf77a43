import type { ComponentChildren, JSX } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { RowWindow } from "../lib/virtual-window.js";
import { rowWindow } from "../lib/virtual-window.js";
import type { Column } from "./data-table.js";

export interface VirtualTableProps<T> {
  readonly columns: ReadonlyArray<Column<T>>;
  /** Rows to lay out (loaded ones plus placeholders). */
  readonly rowCount: number;
  /** The row at `i`, or undefined for a placeholder (its page is still coming). */
  readonly getRow: (i: number) => T | undefined;
  readonly rowKey: (row: T) => string;
  /** Fixed row height, px (must match the CSS). */
  readonly rowHeight: number;
  readonly caption: string;
  readonly testid: string;
  /** Called with the rendered window after every scroll or resize (to fetch the next page). */
  readonly onWindow?: (win: RowWindow) => void;
  /** Total rows when known (aria-rowcount); -1 unknown. */
  readonly totalRows?: number;
  readonly empty?: ComponentChildren;
  /** Changing it scrolls back to the top (a new search). */
  readonly resetKey?: string;
}

/**
 * A semantic table that renders only the rows in view (plus overscan) inside a scrolling box, with
 * spacer rows keeping the scrollbar true: smooth with 100,000 rows. Rows have a fixed height.
 */
export function VirtualTable<T>(props: VirtualTableProps<T>) {
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(480);
  const frame = useRef(0);

  useLayoutEffect(() => {
    const el = box.current;
    if (el === null) return;
    setViewport(el.clientHeight);
    const ro = new ResizeObserver(() => setViewport(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    if (box.current) box.current.scrollTop = 0;
    setScrollTop(0);
  }, [props.resetKey]);

  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  // The header row takes one row height at the top of the scroll box.
  const win = rowWindow({ scrollTop: Math.max(0, scrollTop - props.rowHeight), viewportHeight: viewport, rowHeight: props.rowHeight, rowCount: props.rowCount, overscan: 10 });
  const onWindow = props.onWindow;
  useEffect(() => {
    onWindow?.(win);
  }, [win.start, win.end, props.rowCount, onWindow]);

  const cols = props.columns.length;
  const rows: JSX.Element[] = [];
  for (let i = win.start; i < win.end; i++) {
    const row = props.getRow(i);
    if (row === undefined) {
      rows.push(
        <tr key={`placeholder-${i}`} class="vt-row vt-placeholder" aria-rowindex={i + 2} data-testid={`${props.testid}-placeholder`}>
          <td colSpan={cols} class="muted">
            Loading…
          </td>
        </tr>,
      );
      continue;
    }
    const key = props.rowKey(row);
    rows.push(
      <tr key={key} class="vt-row" aria-rowindex={i + 2} data-testid={`${props.testid}-row`} data-key={key} data-index={i}>
        {props.columns.map((c) => (
          <td key={c.key} class={c.numeric ? "num" : undefined}>
            {c.cell(row, i)}
          </td>
        ))}
      </tr>,
    );
  }

  return (
    <div
      ref={box}
      class="vt-scroll"
      data-testid={`${props.testid}-scroll`}
      tabIndex={0}
      role="region"
      aria-label={props.caption}
      onScroll={(e) => {
        const top = e.currentTarget.scrollTop;
        cancelAnimationFrame(frame.current);
        frame.current = requestAnimationFrame(() => setScrollTop(top));
      }}
    >
      <table class="table table-fixed" data-testid={props.testid} aria-rowcount={props.totalRows !== undefined && props.totalRows >= 0 ? props.totalRows + 1 : -1}>
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr aria-rowindex={1} style={{ height: `${props.rowHeight}px` }}>
            {props.columns.map((c) => (
              <th key={c.key} scope="col" class={c.numeric ? "num" : undefined} style={c.width ? { width: c.width } : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rowCount === 0 ? (
            <tr>
              <td colSpan={cols} class="empty" data-testid={`${props.testid}-empty`}>
                {props.empty ?? "Nothing to show."}
              </td>
            </tr>
          ) : (
            <>
              {win.padTop > 0 && <tr aria-hidden="true" class="vt-spacer" style={{ height: `${win.padTop}px` }} />}
              {rows}
              {win.padBottom > 0 && <tr aria-hidden="true" class="vt-spacer" style={{ height: `${win.padBottom}px` }} />}
            </>
          )}
        </tbody>
      </table>
    </div>
  );
}
