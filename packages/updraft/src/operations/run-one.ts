/**
 * Running one task instance now, in this process, whatever its upstream tasks did (`tasks run`,
 * `tasks test`): a finished one is reset first, then it goes through scheduled and queued to the
 * task runner like any other, so its try, log and XCom are recorded as usual.
 */
import { NotFoundError, UpdraftError } from "../core/errors.ts";
import type { TaskRunnerDeps } from "../executor/run-task-instance.ts";
import { runTaskInstance } from "../executor/run-task-instance.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { fromDb, taskInstanceStore, type TaskInstanceKey } from "../storage/task-instances.ts";

export async function runOneTask(
  database: Database,
  deps: TaskRunnerDeps,
  key: TaskInstanceKey,
): Promise<string> {
  const tis = taskInstanceStore(database);
  const ti = await tis.get(key);
  if (!ti) throw new NotFoundError(`no task instance ${key.dagId}.${key.taskId} in run "${key.runId}"`);
  let state = fromDb(ti.state);
  if (state === "running" || state === "queued" || state === "restarting") {
    throw new UpdraftError(
      "ALREADY_EXISTS",
      `${key.dagId}.${key.taskId} in run "${key.runId}" is ${state} already: wait for it, or clear it first`,
    );
  }
  const now = nowIso();
  if (state !== "none" && state !== "scheduled") {
    // Like a clear: the task gets its retries again, counted from the tries it already made.
    const retries =
      (await deps.loadDag(key.dagId, null)).tasks.find((t) => t.taskId === key.taskId)?.retries ?? 0;
    await tis.transition(key, state, "none", { max_tries: ti.try_number + retries }, now);
    state = "none";
  }
  if (state === "none") await tis.transition(key, "none", "scheduled", { scheduled_dttm: now }, now);
  await tis.transition(key, "scheduled", "queued", { queued_dttm: now }, now);
  await runTaskInstance(
    deps,
    { ...key, mapIndex: ti.map_index, dagRunId: ti.dag_run_id, tryNumber: ti.try_number, pool: ti.pool },
    new AbortController().signal,
  );
  return fromDb((await tis.get(key))?.state ?? null);
}
