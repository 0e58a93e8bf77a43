/**
 * What a migration is, and schema steps that plain `IF NOT EXISTS` statements cannot make safely on
 * ClickHouse 18.16, shared by the migration lists (the lists import this file, migrations.ts imports
 * the lists).
 */

/** One versioned schema change. Statements must run on ClickHouse 18.16 and on current releases. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Statements run in order; each must be safe to run again (IF NOT EXISTS). */
  readonly statements: readonly string[];
  /** Or a procedure, for changes plain statements cannot make safely (see `rekey` in migrations.ts). */
  readonly apply?: (db: MigrationDb) => Promise<void>;
}

/** What a migration procedure may do on the database. */
export interface MigrationDb {
  exec(statement: string): Promise<void>;
  query<T>(select: string): Promise<T[]>;
}

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
