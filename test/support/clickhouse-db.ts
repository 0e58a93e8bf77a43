import { afterAll, beforeAll } from "vitest";
import { migrate } from "../../src/adapters/clickhouse/index.js";
import { startClickHouse } from "../harness/index.js";

/**
 * A real ClickHouse for the calling test file: started, and `database` migrated, before its tests;
 * stopped after them. `url` and `opts()` are for use inside the tests.
 */
export function migratedClickHouse(database: string): { readonly url: string; opts(): { url: string; database: string; username: string; password: string } } {
  let ch: Awaited<ReturnType<typeof startClickHouse>> | undefined;
  const handle = {
    get url(): string {
      if (ch === undefined) throw new Error("ClickHouse is not started yet: use it inside the tests");
      return ch.url;
    },
    opts: () => ({ url: handle.url, database, username: "default", password: "" }),
  };
  beforeAll(async () => {
    ch = await startClickHouse();
    await migrate(handle.opts());
  }, 90_000);
  afterAll(async () => {
    await ch?.cleanup();
  });
  return handle;
}
