/**
 * How many rows of device_status, read in key order, ListDevices reads for a page of `limit`
 * devices: device_status holds a row per device per part not merged yet (its views write one row
 * per device per insert), normally a few; 4 rows a device cover that without a GROUP BY of the
 * whole fleet.
 */
export const ROWS_PER_DEVICE = 4;

/**
 * The page's device ids from the first `read` rows of device_status in key order (`ids`, sorted,
 * with repeats), when they settle it: every id of the first `limit` is among them if there are
 * `limit` distinct ones (rows in key order hold every smaller id first), and all of them are when
 * fewer than `read` rows came (the table had no more). Otherwise undefined: too many unmerged
 * rows, ask the exact GROUP BY.
 */
export function pageIdsOf(ids: readonly string[], read: number, limit: number): string[] | undefined {
  const out: string[] = [];
  for (const id of ids) {
    if (out.length > 0 && out[out.length - 1] === id) continue;
    out.push(id);
    if (out.length === limit) return out;
  }
  return ids.length < read ? out : undefined;
}
