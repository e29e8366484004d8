/**
 * Task instances read with their run (state, logical date, run after): the one join the API's views
 * and the operations that mark or explain task instances both filter.
 */
import type { Database } from "./database.ts";
import type { TaskInstanceRow } from "./schema.ts";

/** A task instance row with the run columns shown and used beside it. */
export type TiRow = TaskInstanceRow & {
  run_logical_date: string | null;
  run_after: string;
  run_state: string;
};

/** task_instance as `ti` joined to dag_run as `dr`, selecting a TiRow. */
export function tiQuery(database: Database) {
  return database.db
    .selectFrom("task_instance as ti")
    .innerJoin("dag_run as dr", "dr.id", "ti.dag_run_id")
    .selectAll("ti")
    .select(["dr.logical_date as run_logical_date", "dr.run_after as run_after", "dr.state as run_state"]);
}

export interface TiKey {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
}

export async function findTi(database: Database, k: TiKey): Promise<TiRow | undefined> {
  return (await tiQuery(database)
    .where("ti.dag_id", "=", k.dagId)
    .where("ti.run_id", "=", k.runId)
    .where("ti.task_id", "=", k.taskId)
    .where("ti.map_index", "=", k.mapIndex)
    .executeTakeFirst()) as TiRow | undefined;
}

export const tiNotFound = (k: TiKey) =>
  `The Task Instance with dag_id: \`${k.dagId}\`, run_id: \`${k.runId}\`, task_id: \`${k.taskId}\` and map_index: \`${k.mapIndex}\` was not found`;
