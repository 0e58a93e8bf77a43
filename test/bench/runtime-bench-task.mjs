// Shared task for the worker_threads vs piscina transport benchmark (plain JS so both load it
// without a TypeScript loader). A "turn" per reading: per-device running sum in a Map, one row out.
const totals = new Map();

/** Process a batch (columns) and return rows, like a shard does. */
export default function run(batch) {
  const { ids, values } = batch;
  const rows = new Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    const t = (totals.get(id) ?? 0) + values[i];
    totals.set(id, t);
    rows[i] = { device_id: id, total: t };
  }
  return rows;
}
