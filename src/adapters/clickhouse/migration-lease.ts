/**
 * One migrating process at a time per database, through rows in ClickHouse itself (ClickHouse
 * 18.16 has no lock and Shoal's processes may share nothing else at start-up).
 *
 * Every candidate appends claim rows (holder, `now()` on the ClickHouse server, released) and keeps
 * appending them while it waits or works. The lease belongs to the live, unreleased candidate whose
 * first row came first; a candidate whose last row is older than `ttlS` (a killed process) drops out.
 * The table is a Log: rows are read back in the order their inserts committed, so a candidate that
 * finds itself first after its own insert returned stays first (any claim it did not see commits
 * after it). Merging tables and a timestamp could not say that: `now()` has whole seconds, and
 * merges forget the order of inserts.
 *
 * Why: some procedures swap whole partitions (`REPLACE PARTITION`), and on 18.16 two such swaps of
 * one partition at once can leave parts of both copies (device_status counted a duplicate's
 * correction twice in a test where two processes migrated one database at once).
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Clock, TimerHandle } from "../../ports/clock.js";
import { sleep, systemClock } from "../../base/clock.js";
import { StorageError } from "./errors.js";
import { sqlString, type SqlRunner } from "./sql.js";

export const MIGRATION_LEASE_TABLE = "schema_migration_claims";

export interface MigrationLeaseOptions {
  /** A holder whose last row is older than this has died, s. Default 30 (at least 2 × heartbeatMs). */
  readonly ttlS?: number;
  /** Interval of the rows that keep a claim alive, ms. Default 5,000. */
  readonly heartbeatMs?: number;
  /** Interval of the checks while another holder has the lease, ms. Default 250. */
  readonly pollMs?: number;
  readonly clock?: Clock;
  /** Told once when another holder has the lease (who), so a caller can log why it waits. */
  readonly onWait?: (holder: string) => void;
}

/** A held lease. */
export interface MigrationLease {
  readonly holder: string;
  /** Throws when another candidate has taken the lease (this process stalled past the TTL). */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

/** Claim the migration lease of the database `db` is on, waiting while another live holder has it. */
export async function acquireMigrationLease(db: SqlRunner, o: MigrationLeaseOptions = {}): Promise<MigrationLease> {
  const ttlS = o.ttlS ?? 30;
  const clock = o.clock ?? systemClock;
  const heartbeatMs = o.heartbeatMs ?? 5_000;
  if (!(heartbeatMs * 2 <= ttlS * 1000)) throw new RangeError(`heartbeatMs (${heartbeatMs}) must be at most half of ttlS (${ttlS} s): a live claim would look dead`);
  const holder = `${hostname()}/${process.pid}/${randomBytes(4).toString("hex")}`;
  await db.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATION_LEASE_TABLE} (holder String, at DateTime, released UInt8) ENGINE = Log`);
  const mark = (released: 0 | 1) => db.exec(`INSERT INTO ${MIGRATION_LEASE_TABLE} (holder, at, released) SELECT ${sqlString(holder)}, now(), ${released}`);
  const owner = async (): Promise<string | undefined> =>
    (
      await db.query<{ holder: string }>(
        `SELECT holder FROM (SELECT holder, min(n) AS claimed, max(at) AS seen, max(released) AS done
          FROM (SELECT holder, at, released, rowNumberInAllBlocks() AS n FROM ${MIGRATION_LEASE_TABLE}) GROUP BY holder)
          WHERE done = 0 AND seen > now() - ${ttlS} ORDER BY claimed LIMIT 1 SETTINGS max_threads = 1`,
      )
    )[0]?.holder;

  // The claim is renewed from the first row on, while waiting and while holding (a backfill can
  // outlast the TTL many times); a stalled or killed process stops renewing and drops out.
  let released = false;
  let timer: TimerHandle | undefined;
  const renew = () => {
    if (released) return;
    timer = clock.setTimeout(() => {
      void mark(0).then(renew, renew);
    }, heartbeatMs);
  };
  const stop = () => {
    released = true;
    if (timer !== undefined) clock.clearTimeout(timer);
  };
  await mark(0);
  renew();
  let told = false;
  try {
    for (;;) {
      const now = await owner();
      if (now === holder) break;
      if (now !== undefined && !told) {
        told = true;
        o.onWait?.(now);
      }
      await sleep(o.pollMs ?? 250, clock);
    }
  } catch (e) {
    stop(); // the claim lapses after the TTL
    throw e;
  }
  return {
    holder,
    async assertHeld() {
      const now = await owner();
      if (now !== holder) throw new StorageError(`the schema migration lease passed from ${holder} to ${now ?? "nobody"} (no claim of this process reached ClickHouse for ${ttlS} s)`, { retryable: true });
    },
    async release() {
      if (released) return;
      stop();
      await mark(1);
    },
  };
}
