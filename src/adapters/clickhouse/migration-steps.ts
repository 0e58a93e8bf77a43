import { randomBytes } from "node:crypto";

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
  /** Or a procedure, for changes plain statements cannot make safely (see `rekey` below). */
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

/**
 * A procedure that gives `table` a new sorting key (18.16 cannot put an existing column into a
 * key): a copy under the new key filled from the table, swapped in by one RENAME, the old table
 * dropped. Nothing happens when the key is already the new one. Several processes starting at once
 * may all run it (each with its own temporary names): a swap that fails because another process
 * swapped first is fine once the key is the new one; a swap after another one replaces the table
 * with an equal copy. Rows that processes of the previous release write while it runs (a rolling
 * upgrade) are copied after the swap: see `rebuild`.
 */
export function rekey(table: string, columns: string, orderBy: string, select: string, hooks: RebuildHooks = {}): (db: MigrationDb) => Promise<void> {
  const key = orderBy.replace(/^ORDER BY \((.*)\)$/, "$1");
  const done = async (db: MigrationDb) =>
    (await db.query<{ k: string }>(`SELECT sorting_key AS k FROM system.tables WHERE database = currentDatabase() AND name = '${table}'`))[0]?.k === key;
  return rebuild(table, columns, `ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(ts) ${orderBy}`, select, done, hooks);
}

/** For tests. */
export interface RebuildHooks {
  /** Run between the copy and the swap (where a writer of the previous release can still insert). */
  readonly afterCopy?: () => Promise<void>;
  /** Run after the swap, before the old table's newer rows are copied (a failure here is one there). */
  readonly afterSwap?: () => Promise<void>;
}

/** True once `table` is a ReplacingMergeTree. */
export function isReplacing(table: string): (db: MigrationDb) => Promise<boolean> {
  return async (db) => (await db.query<{ e: string }>(`SELECT engine AS e FROM system.tables WHERE database = currentDatabase() AND name = '${table}'`))[0]?.e === "ReplacingMergeTree";
}

/**
 * A procedure that rebuilds `table` with new columns and engine clause (as `rekey` describes),
 * nothing happening once `isDone`.
 */
export function rebuild(table: string, columns: string, engine: string, select: string, isDone: (db: MigrationDb) => Promise<boolean>, hooks: RebuildHooks = {}): (db: MigrationDb) => Promise<void> {
  const names = columns
    .split(/,\s*\n/)
    .map((c) => c.trim())
    .filter((c) => !/MATERIALIZED/.test(c))
    .map((c) => c.split(/\s+/)[0])
    .join(", ");
  const leftovers = `${table}_before_rekey_`;
  /**
   * Copies into `table` the rows of a swapped-out table (`old`, named `<table>_before_rekey_<tag>_<since>`)
   * that a writer of the previous release stamped since its copy began, then drops it.
   */
  const catchUp = async (db: MigrationDb, old: string, since: number) => {
    // The rebuilds that made device_events and dead_letters replacing copied from tables without
    // ingested_at: all of their rows again (the new table replaces identical rows).
    const stamped = Number((await db.query<{ n: string }>(`SELECT count() AS n FROM system.columns WHERE database = currentDatabase() AND table = '${old}' AND name = 'ingested_at'`))[0]?.n ?? 0) > 0;
    await db.exec(`INSERT INTO ${table} (${names}) SELECT ${select} FROM ${old}${stamped ? ` WHERE ingested_at >= toDateTime(${since})` : ""}`);
    await db.exec(`DROP TABLE IF EXISTS ${old}`);
  };
  return async (db) => {
    // A run that swapped but failed before its catch-up (ClickHouse restarted, a timeout) left the old
    // table, its copy's start in its name: finished first, whether or not the key is new already
    // (the migration is recorded only once this returns). Tables of this name without the start
    // were left by releases before it; they are not touched.
    const left = await db.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, '${leftovers}')`);
    for (const { name } of left) {
      const since = /^[0-9a-f]{8}_([0-9]+)$/.exec(name.slice(leftovers.length))?.[1];
      if (since !== undefined) await catchUp(db, name, Number(since));
    }
    const done = () => isDone(db);
    if (await done()) return;
    const tag = randomBytes(4).toString("hex");
    const copy = `${table}_rekeyed_${tag}`;
    // ClickHouse's clock, a second early: rows it stamps from here on were maybe not copied.
    const since = Number((await db.query<{ t: string }>("SELECT toString(toUInt32(now()) - 1) AS t"))[0]?.t);
    const old = `${leftovers}${tag}_${since}`;
    await db.exec(`CREATE TABLE ${copy} (${columns}) ${engine}`);
    try {
      await db.exec(`INSERT INTO ${copy} (${names}) SELECT ${select} FROM ${table}`);
      await hooks.afterCopy?.();
      if (await done()) return;
      await db.exec(`RENAME TABLE ${table} TO ${old}, ${copy} TO ${table}`);
    } catch (err) {
      if (await done()) return;
      throw err;
    } finally {
      await db.exec(`DROP TABLE IF EXISTS ${copy}`);
    }
    // During a rolling upgrade the previous release keeps writing to the table by name until the
    // swap: what it wrote after the copy began is in the old table only, copied again now.
    await hooks.afterSwap?.();
    await catchUp(db, old, since);
  };
}
