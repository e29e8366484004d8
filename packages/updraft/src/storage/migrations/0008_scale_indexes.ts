/**
 * Indexes for the lists that read the whole table at 100,000 runs and 1,000,000 task instances
 * (issue 14): runs by start or logical date across DAGs, a DAG's runs by run_after (the grid), the
 * task-instance list's default order (map_index, then the key), task instances by duration, and XCom
 * entries of one run. On PostgreSQL, the date indexes are declared NULLS FIRST: Updraft sorts NULL as
 * the smallest value on every database (as SQLite and MySQL do), so one index serves "oldest first"
 * (ASC NULLS FIRST) and "newest first" (DESC NULLS LAST, the same index read backwards).
 */
import { sql } from "kysely";
import type { MigrationContext } from "./helpers.ts";

/** [index, table, columns]; a column marked `?` is nullable (NULLS FIRST on PostgreSQL). */
const INDEXES: [string, string, string[]][] = [
  ["idx_dag_run_start_date", "dag_run", ["start_date?"]],
  ["idx_dag_run_logical_date", "dag_run", ["logical_date?"]],
  ["idx_dag_run_dag_run_after", "dag_run", ["dag_id", "run_after"]],
  ["idx_ti_default_order", "task_instance", ["map_index", "dag_id", "run_id", "task_id"]],
  ["idx_ti_duration", "task_instance", ["duration?"]],
  ["idx_ti_end_date", "task_instance", ["end_date?"]],
  ["idx_xcom_dag_run_task", "xcom", ["dag_id", "run_id", "task_id"]],
];

/** PostgreSQL's versions of earlier indexes on nullable dates, NULLS FIRST likewise. */
const POSTGRES_REDONE: [string, string, string[]][] = [
  ["idx_ti_start_date", "task_instance", ["start_date?"]],
  ["idx_dag_run_dag_logical", "dag_run", ["dag_id", "logical_date?"]],
];

export async function up({ db, adapter }: MigrationContext): Promise<void> {
  const postgres = adapter.name === "postgres";
  if (postgres) for (const [name] of POSTGRES_REDONE) await db.schema.dropIndex(name).ifExists().execute();
  for (const [name, table, columns] of [...INDEXES, ...(postgres ? POSTGRES_REDONE : [])]) {
    const list = columns.map((c) =>
      c.endsWith("?") ? (postgres ? `${c.slice(0, -1)} nulls first` : c.slice(0, -1)) : c,
    );
    await sql`create index ${sql.id(name)} on ${sql.table(table)} (${sql.raw(list.join(", "))})`.execute(db);
  }
}
