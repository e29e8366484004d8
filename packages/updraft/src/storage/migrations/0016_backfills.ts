/**
 * Backfills as Airflow 3 records them (issue 21's backfill API and UI):
 * - `backfill`: one per request (a DAG, a logical-date range, the runs' conf, reprocess behaviour, how
 *   many of its runs may run at once), paused or not, completed once none of its runs is left to do.
 *   `run_backwards` orders its runs newest first (Airflow keeps that order per run as sort_ordinal).
 * - `dag_run.backfill_id`: the backfill a run belongs to; the scheduler starts a backfill's queued
 *   runs within the backfill's max_active_runs, not the DAG's.
 */
import { ID, TS, longText, withAutoId, type MigrationContext } from "./helpers.ts";

export async function up({ db, adapter }: MigrationContext): Promise<void> {
  await withAutoId(db.schema.createTable("backfill"), adapter)
    .addColumn("dag_id", ID, (c) => c.notNull())
    .addColumn("from_date", TS, (c) => c.notNull())
    .addColumn("to_date", TS, (c) => c.notNull())
    .addColumn("dag_run_conf", longText(adapter), (c) => c.notNull())
    .addColumn("is_paused", "integer", (c) => c.notNull())
    .addColumn("reprocess_behavior", "varchar(20)", (c) => c.notNull())
    .addColumn("max_active_runs", "integer", (c) => c.notNull())
    .addColumn("run_backwards", "integer", (c) => c.notNull())
    .addColumn("triggering_user_name", "varchar(512)")
    .addColumn("created_at", TS, (c) => c.notNull())
    .addColumn("completed_at", TS)
    .addColumn("updated_at", TS, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("idx_backfill_dag")
    .on("backfill")
    .columns(["dag_id", "completed_at"])
    .execute();
  await db.schema.alterTable("dag_run").addColumn("backfill_id", "integer").execute();
  await db.schema
    .createIndex("idx_dag_run_backfill")
    .on("dag_run")
    .columns(["backfill_id", "state"])
    .execute();
}
