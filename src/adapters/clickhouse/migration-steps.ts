/**
 * Schema steps that plain `IF NOT EXISTS` statements cannot make safely on ClickHouse 18.16, shared
 * by the migration lists.
 */
import type { MigrationDb } from "./migrations.js";

/**
 * Adds column `name` (`definition`: its type and default, e.g. `String DEFAULT ''`) to `table`
 * unless it has it: safe to run again and from several processes at once (one of them adds it; the
 * others find it there afterwards). 18.16 has no `ADD COLUMN IF NOT EXISTS`.
 */
export async function addColumnIfMissing(db: MigrationDb, table: string, name: string, definition: string): Promise<void> {
  const has = async () =>
    Number((await db.query<{ n: string }>(`SELECT count() AS n FROM system.columns WHERE database = currentDatabase() AND table = '${table}' AND name = '${name}'`))[0]?.n ?? 0) > 0;
  if (await has()) return;
  try {
    await db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${definition}`);
  } catch (err) {
    if (!(await has())) throw err;
  }
}
