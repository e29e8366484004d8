/**
 * `dag_run.marked_state` (issue 17): the state a user marked a run with while its teardowns still
 * run (Airflow runs them to clean up); the run ends in it once every task is done.
 */
import type { MigrationContext } from "./helpers.ts";

export async function up({ db }: MigrationContext): Promise<void> {
  await db.schema.alterTable("dag_run").addColumn("marked_state", "varchar(20)").execute();
}
