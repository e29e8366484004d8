/**
 * Indexes for the API's and UI's common lists at scale (bench/api.ts: 1,000,000 task instances):
 * task instances newest first across DAGs, the event log of one DAG, and each DAG's latest run.
 */
import type { MigrationContext } from "./helpers.ts";

export async function up({ db }: MigrationContext): Promise<void> {
  await db.schema.createIndex("idx_ti_start_date").on("task_instance").column("start_date").execute();
  await db.schema.createIndex("idx_dag_run_dag_id_id").on("dag_run").columns(["dag_id", "id"]).execute();
  await db.schema.createIndex("idx_audit_log_dag_dttm").on("audit_log").columns(["dag_id", "dttm"]).execute();
}
