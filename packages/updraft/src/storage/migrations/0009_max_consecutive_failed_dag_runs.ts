/** `dag.max_consecutive_failed_dag_runs` (issue 17): the DAG's maxConsecutiveFailedDagRuns, as the API shows it. */
import type { MigrationContext } from "./helpers.ts";

export async function up({ db }: MigrationContext): Promise<void> {
  await db.schema
    .alterTable("dag")
    .addColumn("max_consecutive_failed_dag_runs", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}
