/**
 * Window math of a virtualised table with rows of a fixed height: which rows to render for a scroll
 * position (plus an overscan on each side, so fast scrolling shows no blank), the padding that keeps
 * the scrollbar true, and when to ask the server for the next page.
 */
export interface WindowInput {
  /** Scroll offset of the viewport, px. */
  readonly scrollTop: number;
  /** Height of the viewport, px. */
  readonly viewportHeight: number;
  /** Height of one row, px (> 0). */
  readonly rowHeight: number;
  /** Rows that exist (loaded ones plus any placeholders). */
  readonly rowCount: number;
  /** Extra rows rendered above and below the visible ones; default 8. */
  readonly overscan?: number;
}

export interface RowWindow {
  /** First row rendered (inclusive). */
  readonly start: number;
  /** Row after the last one rendered (exclusive). */
  readonly end: number;
  /** Space above / below the rendered rows, px. */
  readonly padTop: number;
  readonly padBottom: number;
  /** First / last+1 row actually in view (without overscan). */
  readonly firstVisible: number;
  readonly endVisible: number;
}

/** The rows to render for a scroll position. Robust to a scrollTop past the end (after rows shrank). */
export function rowWindow(input: WindowInput): RowWindow {
  const { rowHeight, rowCount } = input;
  if (!(rowHeight > 0)) throw new RangeError(`rowHeight must be > 0, got ${rowHeight}`);
  const overscan = Math.max(0, Math.floor(input.overscan ?? 8));
  const viewport = Math.max(0, input.viewportHeight);
  const maxTop = Math.max(0, rowCount * rowHeight - viewport);
  const top = Math.min(Math.max(0, input.scrollTop), maxTop);
  const firstVisible = Math.min(rowCount, Math.floor(top / rowHeight));
  const endVisible = Math.min(rowCount, Math.ceil((top + viewport) / rowHeight));
  const start = Math.max(0, firstVisible - overscan);
  const end = Math.min(rowCount, endVisible + overscan);
  return { start, end, padTop: start * rowHeight, padBottom: (rowCount - end) * rowHeight, firstVisible, endVisible };
}

export interface PagingState {
  /** Rows loaded so far. */
  readonly loaded: number;
  /** The server has more (the last page came with a next_page_token). */
  readonly hasMore: boolean;
  /** A page request is in flight. */
  readonly loading: boolean;
}

/**
 * True when the next page should be requested: more exists, none is loading, and the window's end
 * is within `threshold` rows of the loaded ones (default: one screenful ahead is half a page).
 */
export function needsNextPage(win: Pick<RowWindow, "end">, paging: PagingState, threshold = 50): boolean {
  return paging.hasMore && !paging.loading && win.end + threshold >= paging.loaded;
}

/**
 * Rows the table shows: the loaded ones, plus one screen of placeholders while more exist so the
 * scrollbar tells there is more (the total is unknown: page tokens are sequential).
 */
export function displayedRowCount(paging: Pick<PagingState, "loaded" | "hasMore">, placeholders: number): number {
  return paging.loaded + (paging.hasMore ? Math.max(0, placeholders) : 0);
}
