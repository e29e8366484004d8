/**
 * Indexes for the lists that read the whole table at 100,000 runs and 1,000,000 task instances
 * (issue 14), and a run's duration as a column: runs by start, end or logical date or duration across DAGs, a DAG's runs by run_after (the grid), the
 * task-instance list's default order (map_index, then the key) also within a state, task instances by duration, and the XCom
 * list's order (by DAG, task, run). On PostgreSQL, the date indexes are declared NULLS FIRST: Updraft sorts NULL as
 * the smallest value on every database (as SQLite and MySQL do), so one index serves "oldest first"
 * (ASC NULLS FIRST) and "newest first" (DESC NULLS LAST, the same index read backwards).
 */
import { sql } from "kysely";
import type { MigrationContext } from "./helpers.ts";

/** [index, table, columns]; a column marked `?` is nullable (NULLS FIRST on PostgreSQL). */
const INDEXES: [string, string, string[]][] = [
  ["idx_dag_run_start_date", "dag_run", ["start_date?"]],
  ["idx_dag_run_end_date", "dag_run", ["end_date?"]],
  ["idx_dag_run_duration", "dag_run", ["duration?"]],
  ["idx_dag_run_logical_date", "dag_run", ["logical_date?"]],
  ["idx_dag_run_dag_run_after", "dag_run", ["dag_id", "run_after"]],
  ["idx_ti_default_order", "task_instance", ["map_index", "dag_id", "run_id", "task_id"]],
  // The list filtered by state (failed, running) in its default order.
  ["idx_ti_state_order", "task_instance", ["state", "map_index", "dag_id", "run_id", "task_id"]],
  ["idx_ti_duration", "task_instance", ["duration?"]],
  ["idx_ti_end_date", "task_instance", ["end_date?"]],
  ["idx_xcom_list_order", "xcom", ["dag_id", "task_id", "run_id", "map_index"]],
];

/** PostgreSQL's versions of earlier indexes on nullable dates, NULLS FIRST likewise. */
const POSTGRES_REDONE: [string, string, string[]][] = [
  ["idx_ti_start_date", "task_instance", ["start_date?"]],
  ["idx_dag_run_dag_logical", "dag_run", ["dag_id", "logical_date?"]],
];

export async function up({ db, adapter }: MigrationContext): Promise<void> {
  const postgres = adapter.name === "postgres";
  // A run's duration, stored with its end (it was computed on every read, so sorting by it read all runs).
  await db.schema.alterTable("dag_run").addColumn("duration", "double precision").execute();
  await db
    .updateTable("dag_run")
    .set({ duration: adapter.secondsBetween(sql.ref("start_date"), sql.ref("end_date")) })
    .where("end_date", "is not", null)
    .execute();
  if (postgres) for (const [name] of POSTGRES_REDONE) await db.schema.dropIndex(name).ifExists().execute();
  for (const [name, table, columns] of [...INDEXES, ...(postgres ? POSTGRES_REDONE : [])]) {
    // MySQL keys stop at 3072 bytes (three 250-character ids are 3000): the last id is left out there.
    const fitted = adapter.name === "mysql" && columns.length > 4 ? columns.slice(0, 4) : columns;
    const list = fitted.map((c) =>
      c.endsWith("?") ? (postgres ? `${c.slice(0, -1)} nulls first` : c.slice(0, -1)) : c,
    );
    await sql`create index ${sql.id(name)} on ${sql.table(table)} (${sql.raw(list.join(", "))})`.execute(db);
  }
}
