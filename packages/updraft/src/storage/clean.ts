/**
 * Deleting old metadata in batches (`updraft db clean`, `[database] retention_days`): finished runs
 * with everything recorded for them (their DAG callback requests, deadlines and links to the asset
 * events that started them too), audit log entries, finished jobs and asset events. Each batch selects its ids,
 * copies the rows to `_updraft_archive_<table>` (unless told not to) and deletes children before
 * runs, in one transaction. What is kept, and why: ../operations/ADR.md O6.
 */
import { sql, type AliasableExpression, type Kysely, type RawBuilder, type SqlBool } from "kysely";
import { ACTIVE_STATES, FINISHED_RUN_STATES } from "../core/states.ts";
import { UpdraftError } from "../core/errors.ts";
import type { Database } from "./database.ts";
import { isTransientDbError, retrying } from "./retry.ts";
import type { Tables } from "./schema.ts";

/** Tables whose rows belong to a run: cleaned with it, or on their own for the same runs. */
export const RUN_TABLES = [
  "dag_run",
  "task_instance",
  "task_instance_history",
  "task_reschedule",
  "xcom",
  "callback_request",
  "deadline",
  "dagrun_asset_event",
] as const;
/** Tables cleaned by each row's own date. */
export const ROW_TABLES = ["audit_log", "job", "asset_event"] as const;
export const CLEANABLE_TABLES = [...RUN_TABLES, ...ROW_TABLES] as const;
export type RunTable = (typeof RUN_TABLES)[number];
export type RowTable = (typeof ROW_TABLES)[number];
export type CleanableTable = (typeof CLEANABLE_TABLES)[number];
export type RowCounts = Partial<Record<CleanableTable, number>>;

/** One archive table per cleaned table, appended to by every clean (Airflow makes one per clean). */
export const archiveTableName = (table: CleanableTable) => `_updraft_archive_${table}`;

/** The scheduler's carry-on point (scheduler/create-runs.ts `lastInterval`) is one of these runs. */
const TIMETABLE_RUN_TYPES = ["scheduled", "backfill"];

export interface BatchOptions {
  /** ISO-8601 UTC: rows older than this go. */
  before: string;
  /** Largest number of runs (or rows) in one transaction. */
  limit: number;
  /** Continue after this id (keyset paging: rows kept or skipped are never read twice). */
  after: number;
  archive: boolean;
  dryRun: boolean;
}

export interface RunBatchOptions extends BatchOptions {
  tables: readonly RunTable[];
  /** Runs never to delete (`keptRuns`). */
  keep: ReadonlySet<number>;
}

export interface BatchResult {
  /** The last id read, to continue after; null when nothing was left. */
  lastId: number | null;
  /** Runs (or rows) deleted, or that would be. */
  processed: number;
  counts: RowCounts;
}

interface RunRef {
  id: number;
  dag_id: string;
  run_id: string;
}

type Db = Kysely<Tables>;

/** Finished runs whose end (or, lacking one, their run_after) is before `before`. */
function oldRuns(db: Db, before: string) {
  return db
    .selectFrom("dag_run")
    .where("state", "in", FINISHED_RUN_STATES)
    .where((eb) => eb(eb.fn.coalesce("end_date", "run_after"), "<", before));
}

/** Rows of `table` that belong to `runs`. History and reschedule rows name their run by (dag_id, run_id). */
function ofRuns(table: RunTable, runs: readonly RunRef[]): RawBuilder<SqlBool> {
  const ids = sql.join(runs.map((r) => r.id));
  if (table === "dag_run") return sql<SqlBool>`id in (${ids})`;
  if (table !== "task_instance_history" && table !== "task_reschedule")
    return sql<SqlBool>`dag_run_id in (${ids})`;
  const byDag = Map.groupBy(runs, (r) => r.dag_id);
  return sql<SqlBool>`(${sql.join(
    [...byDag].map(
      ([dagId, rs]) => sql`(dag_id = ${dagId} and run_id in (${sql.join(rs.map((r) => r.run_id))}))`,
    ),
    sql` or `,
  )})`;
}

const byId = (ids: readonly number[]) => sql<SqlBool>`id in (${sql.join(ids)})`;

async function countWhere(db: Db, table: CleanableTable, where: RawBuilder<SqlBool>): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where(where)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Copies the rows, then deletes them; or only counts them on a dry run. */
async function removeWhere(
  db: Db,
  table: CleanableTable,
  where: RawBuilder<SqlBool>,
  o: { archive: boolean; dryRun: boolean },
): Promise<number> {
  if (o.dryRun) return countWhere(db, table, where);
  if (o.archive) await archiveWhere(db, table, where);
  const result = await db.deleteFrom(table).where(where).executeTakeFirst();
  return Number(result.numDeletedRows);
}

async function archiveWhere(db: Db, table: CleanableTable, where: RawBuilder<SqlBool>): Promise<void> {
  const archive = archiveTableName(table);
  try {
    // Archive tables are made at run time from the live ones: Kysely knows nothing of their columns.
    await db
      .withTables<Record<string, Record<string, unknown>>>()
      .insertInto(archive)
      .expression(db.selectFrom(table).selectAll().where(where))
      .execute();
  } catch (error) {
    if (isTransientDbError(error)) throw error;
    throw new UpdraftError(
      "CONFLICT",
      `could not archive rows of ${table} into ${archive} (${(error as Error).message}): if an upgrade changed ${table}'s columns since ${archive} was made, drop or rename ${archive} (\`updraft db drop-archived\`), or pass --skip-archive`,
      { cause: error },
    );
  }
}

export function metadataCleaner(database: Database) {
  const { db } = database;
  // With several writers, the runs of a batch are locked as they are read, so a run cleared or marked
  // meanwhile is either deleted before that write or never read (SQLite has one writer anyway).
  const lock = database.adapter.capabilities.supportsMultipleWriters;
  const inBatch = <T>(what: string, op: (trx: Db) => Promise<T>) =>
    retrying(() => db.transaction().execute(op), { what, maxMs: 60_000 });

  return {
    /** How many runs `oldRuns` holds (the kept ones included). */
    async countOldRuns(before: string): Promise<number> {
      const row = await oldRuns(db, before)
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /**
     * The old finished runs kept whatever their age: per DAG, its newest finished run (what the UI
     * shows as its last run, and what depends-on-past looks back at), and its newest scheduled or
     * backfill run by data interval (where its timetable carries on from: without it, a catchup DAG
     * would run its whole history again).
     */
    async keptRuns(before: string): Promise<Set<number>> {
      const newestFinished = db
        .selectFrom("dag_run")
        .select((eb) => eb.fn.max("id").as("id"))
        .where("state", "in", FINISHED_RUN_STATES)
        .groupBy("dag_id");
      const lastInterval = db
        .selectFrom("dag_run")
        .select((eb) => ["dag_id", eb.fn.max("data_interval_end").as("end")])
        .where("run_type", "in", TIMETABLE_RUN_TYPES)
        .groupBy("dag_id");
      const carriedOnFrom = db
        .selectFrom("dag_run as r")
        .innerJoin(lastInterval.as("l"), (join) =>
          join.onRef("l.dag_id", "=", "r.dag_id").onRef("l.end", "=", "r.data_interval_end"),
        )
        .select("r.id")
        .where("r.run_type", "in", TIMETABLE_RUN_TYPES);
      const rows = await oldRuns(db, before)
        .select("id")
        .where((eb) => eb.or([eb("id", "in", newestFinished), eb("id", "in", carriedOnFrom)]))
        .execute();
      return new Set(rows.map((r) => r.id));
    },

    /** One transaction: the next runs after `o.after`, archived and deleted with their rows. */
    async cleanRunBatch(o: RunBatchOptions): Promise<BatchResult> {
      return inBatch("cleaning a batch of old runs", async (trx) => {
        let q = oldRuns(trx, o.before)
          .select(["id", "dag_id", "run_id"])
          .where("id", ">", o.after)
          .orderBy("id")
          .limit(o.limit);
        if (lock && !o.dryRun) q = q.forUpdate();
        const read = await q.execute();
        const runs = read.filter((r) => !o.keep.has(r.id));
        const counts: RowCounts = {};
        // Children first: MySQL ignores the inline foreign keys that would cascade from the run.
        for (const table of [...o.tables].sort((a, b) => +(a === "dag_run") - +(b === "dag_run")))
          counts[table] = runs.length === 0 ? 0 : await removeWhere(trx, table, ofRuns(table, runs), o);
        return { lastId: read.at(-1)?.id ?? null, processed: runs.length, counts };
      });
    },

    async countOldRows(table: RowTable, before: string): Promise<number> {
      const row = await db
        .selectFrom(oldRows(db, table, before).as("old"))
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** One transaction: the next old audit log entries, finished jobs or asset events after `o.after`. */
    async cleanRowBatch(table: RowTable, o: BatchOptions): Promise<BatchResult> {
      return inBatch(`cleaning a batch of old ${table} rows`, async (trx) => {
        const read = await trx
          .selectFrom(oldRows(trx, table, o.before).as("old"))
          .select("old.id")
          .where("old.id", ">", o.after)
          .orderBy("old.id")
          .limit(o.limit)
          .execute();
        const ids = read.map((r) => r.id);
        // An event's links to the runs it started go with it, as Airflow's cascade (not counted).
        if (table === "asset_event" && ids.length > 0 && !o.dryRun)
          await trx.deleteFrom("dagrun_asset_event").where("event_id", "in", ids).execute();
        const n = ids.length === 0 ? 0 : await removeWhere(trx, table, byId(ids), o);
        return { lastId: ids.at(-1) ?? null, processed: n, counts: { [table]: n } };
      });
    },

    /**
     * Makes `table`'s archive, with its columns and no rows, unless it exists. Outside any batch:
     * MySQL commits the open transaction before DDL.
     */
    async ensureArchive(table: CleanableTable): Promise<void> {
      await db.schema
        .createTable(archiveTableName(table))
        .ifNotExists()
        .as(
          db
            .selectFrom(table)
            .selectAll()
            .where(sql<SqlBool>`1 = 0`),
        )
        .execute();
    },

    /** The archive tables that exist, with their row counts. */
    async archives(): Promise<{ table: CleanableTable; archive: string; rows: number }[]> {
      const found = [];
      for (const table of CLEANABLE_TABLES) {
        const archive = archiveTableName(table);
        const rows = await countArchive(db, archive);
        if (rows !== null) found.push({ table, archive, rows });
      }
      return found;
    },

    async dropArchive(table: CleanableTable): Promise<void> {
      await db.schema.dropTable(archiveTableName(table)).ifExists().execute();
    },
  };
}
export type MetadataCleaner = ReturnType<typeof metadataCleaner>;

/**
 * Audit log entries and asset events older than `before`; jobs that ended (or last beat) before it
 * and are not running. A job that still holds claimed task instances stays: the rescue of a dead
 * scheduler's work finds those through its job row (scheduler/rescue.ts).
 */
function oldRows(db: Db, table: RowTable, before: string): AliasableExpression<{ id: number }> {
  if (table === "audit_log") return db.selectFrom("audit_log").select("id").where("dttm", "<", before);
  if (table === "asset_event")
    return db.selectFrom("asset_event").select("id").where("timestamp", "<", before);
  return db
    .selectFrom("job")
    .select("id")
    .where("state", "!=", "running")
    .where((eb) => eb(eb.fn.coalesce("end_date", "latest_heartbeat"), "<", before))
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("task_instance")
            .select("task_instance.dag_run_id")
            .whereRef("task_instance.claimed_by_job_id", "=", "job.id")
            .where("task_instance.state", "in", ACTIVE_STATES),
        ),
      ),
    );
}

/** Rows in `archive`, or null when there is no such table. */
async function countArchive(db: Db, archive: string): Promise<number | null> {
  try {
    const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(archive)}`.execute(db);
    return Number(rows[0]?.n ?? 0);
  } catch (error) {
    if (isTransientDbError(error)) throw error;
    return null;
  }
}
