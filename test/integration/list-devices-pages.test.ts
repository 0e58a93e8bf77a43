import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClickHouse, type ServiceHandle } from "../harness/index.js";
import { createClickHouseClient, migrate } from "../../src/adapters/clickhouse/index.js";
import { createClickHouseReadModel } from "../../src/adapters/clickhouse/read-model.js";

const T = Date.UTC(2026, 0, 15, 12);
const IDS = ["a-0", "a-1", "a-2", "b-0", "b-1", "b-2", "b-3"];
/** Rows per device in device_status: one per insert, merges stopped (more than page-ids.ts's ROWS_PER_DEVICE). */
const INSERTS = 6;

/**
 * ListDevices' pages on real ClickHouse when device_status holds many unmerged rows per device
 * (src/adapters/clickhouse/page-ids.ts: the page's ids from the first rows in key order, or the
 * exact GROUP BY when they do not settle it): every device once, in order, whatever the page size.
 */
describe("ListDevices pages over unmerged device_status rows", () => {
  let ch: ServiceHandle;
  const o = () => ({ url: ch.url, database: "list_pages_test", username: "default", password: "" });
  let readModel: ReturnType<typeof createClickHouseReadModel>;

  beforeAll(async () => {
    ch = await startClickHouse();
    await migrate(o());
    const c = createClickHouseClient(o());
    await c.command({ query: "SYSTEM STOP MERGES device_status" });
    for (let i = 0; i < INSERTS; i++) {
      const events = IDS.map((id, n) => ({ device_id: id, kind: i === INSERTS - 1 && n % 2 === 1 ? "offline" : "online", epoch: 1, at_ms: T + i * 1000 + n, last_seq: i, detail: "" }));
      await c.insert({ table: "device_events", values: events, format: "JSONEachRow" });
    }
    const rows = await (await c.query({ query: "SELECT count() AS n FROM device_status", format: "JSONEachRow" })).json<{ n: string }>();
    expect(Number(rows[0]!.n)).toBe(IDS.length * INSERTS);
    await c.close();
    readModel = createClickHouseReadModel(o(), { maxExecutionMs: 10_000 });
  }, 120_000);

  afterAll(async () => {
    await readModel?.close();
    await ch?.cleanup();
  });

  /** Every page of `limit` devices whose id starts with `prefix`, following the last id as ListDevices' token does. */
  async function allPages(prefix: string, limit: number): Promise<string[][]> {
    const pages: string[][] = [];
    let after = "";
    for (;;) {
      const got = await readModel.listDevices({ prefix, after, limit, anomaliesSinceMs: T - 86_400_000 });
      if (got.length === 0) return pages;
      pages.push(got.map((d) => d.deviceId));
      after = got[got.length - 1]!.deviceId;
    }
  }

  it("gives every device once and in order, for page sizes below, at and above the rows that settle a page", async () => {
    for (const limit of [1, 2, 3, 5, 7, 100]) {
      const pages = await allPages("", limit);
      expect(pages.flat(), `limit ${limit}`).toEqual(IDS);
      expect(
        pages.every((p, i) => p.length === limit || i === pages.length - 1),
        `limit ${limit}`,
      ).toBe(true);
    }
    expect((await allPages("b-", 3)).flat()).toEqual(["b-0", "b-1", "b-2", "b-3"]);
    expect((await allPages("c", 3)).flat()).toEqual([]);
  });

  it("merges each device's rows into its state", async () => {
    const [a0, a1] = await readModel.listDevices({ prefix: "a-", after: "", limit: 2, anomaliesSinceMs: T - 86_400_000 });
    expect(a0).toMatchObject({ deviceId: "a-0", lastEvent: "online", lastEventMs: T + (INSERTS - 1) * 1000 });
    expect(a1).toMatchObject({ deviceId: "a-1", lastEvent: "offline", lastEventMs: T + (INSERTS - 1) * 1000 + 1 });
    expect(await readModel.getDevice("b-2", T - 86_400_000)).toMatchObject({ deviceId: "b-2", lastEvent: "offline" });
  });
});
