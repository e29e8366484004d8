/**
 * DAG callbacks and deadlines (issue 20), run by the triggerer, never by the scheduler:
 * - `callback_request`: what to run (a DAG run's success or failure, a missed deadline), written in
 *   the transaction of the state change that causes it; unique per (run, event, event_key), so a
 *   second writer's insert is a no-op. A triggerer claims it with a lease (claimed_by, lease_until)
 *   and records the outcome (state, error).
 * - `deadline`: a run's deadline (Airflow 3.1's DeadlineAlert): when it passes, and once that time
 *   came (handled_at) whether the run was still unfinished (missed); unique per (run, deadline index).
 */
import { ID, TS, longText, withAutoId, type MigrationContext } from "./helpers.ts";

export async function up({ db, adapter }: MigrationContext): Promise<void> {
  const text = longText(adapter);
  await withAutoId(db.schema.createTable("callback_request"), adapter)
    .addColumn("dag_run_id", "integer", (c) => c.notNull())
    .addColumn("dag_id", ID, (c) => c.notNull())
    .addColumn("run_id", ID, (c) => c.notNull())
    .addColumn("event", "varchar(40)", (c) => c.notNull())
    // The end's time for a run's end, the deadline's index for a missed one: what makes the event one.
    .addColumn("event_key", "varchar(300)", (c) => c.notNull())
    .addColumn("task_id", ID)
    .addColumn("map_index", "integer")
    .addColumn("try_number", "integer")
    .addColumn("dag_hash", "varchar(64)")
    .addColumn("payload", text, (c) => c.notNull())
    .addColumn("state", "varchar(20)", (c) => c.notNull())
    .addColumn("claimed_by", "integer")
    .addColumn("lease_until", TS)
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("error", text)
    .addColumn("created_at", TS, (c) => c.notNull())
    .addColumn("finished_at", TS)
    .addUniqueConstraint("uq_callback_request_event", ["dag_run_id", "event", "event_key"])
    .execute();
  await db.schema
    .createIndex("idx_callback_request_claim")
    .on("callback_request")
    .columns(["state", "lease_until"])
    .execute();
  await db.schema
    .createIndex("idx_callback_request_run")
    .on("callback_request")
    .columns(["dag_id", "run_id"])
    .execute();

  await withAutoId(db.schema.createTable("deadline"), adapter)
    .addColumn("dag_run_id", "integer", (c) => c.notNull())
    .addColumn("dag_id", ID, (c) => c.notNull())
    .addColumn("run_id", ID, (c) => c.notNull())
    .addColumn("deadline_index", "integer", (c) => c.notNull())
    .addColumn("deadline_time", TS, (c) => c.notNull())
    .addColumn("missed", "integer", (c) => c.notNull())
    .addColumn("handled_at", TS)
    .addColumn("created_at", TS, (c) => c.notNull())
    .addUniqueConstraint("uq_deadline_run_index", ["dag_run_id", "deadline_index"])
    .execute();
  await db.schema
    .createIndex("idx_deadline_due")
    .on("deadline")
    .columns(["handled_at", "deadline_time"])
    .execute();
  await db.schema.createIndex("idx_deadline_run").on("deadline").columns(["dag_id", "run_id"]).execute();
}
