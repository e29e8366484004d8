/** A run whose task instances are all scheduled, for tests of claims, starts and ends. */
import { dagRunStore } from "../storage/dag-runs.ts";
import type { Database } from "../storage/database.ts";
import type { TaskInstanceKey } from "../storage/task-instances.ts";
import { serializedDag, serializedTask } from "./serialized.ts";

/** Run "r" of a DAG of `width` independent tasks t0..t<width-1>, every one scheduled; their keys. */
export async function scheduledRun(
  database: Database,
  dagId: string,
  width: number,
): Promise<TaskInstanceKey[]> {
  const tasks = Array.from({ length: width }, (_, i) => serializedTask(`t${i}`));
  await dagRunStore(database).create({
    dag: serializedDag(dagId, tasks),
    runId: "r",
    runType: "manual",
    logicalDate: "2025-01-01T00:00:00.000Z",
    dataIntervalStart: "2025-01-01T00:00:00.000Z",
    dataIntervalEnd: "2025-01-01T00:00:00.000Z",
    runAfter: "2025-01-01T00:00:00.000Z",
    conf: {},
  });
  await database.db
    .updateTable("task_instance")
    .set({ state: "scheduled", scheduled_dttm: "2025-01-01T00:00:00.000Z" })
    .where("dag_id", "=", dagId)
    .execute();
  return tasks.map((t) => ({ dagId, runId: "r", taskId: t.taskId, mapIndex: -1 }));
}
