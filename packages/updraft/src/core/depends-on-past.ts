/**
 * depends_on_past and wait_for_downstream (Airflow's), the one rule the scheduler and "why is this task
 * not running" share. A task with `dependsOnPast` starts only when its instance in the previous run
 * succeeded or was skipped; `waitForDownstream` also waits until that instance's direct downstream
 * task instances finished. The previous run is the DAG's run with the latest logical date before this
 * run's (storage: `dagRunStore.previous`); a first run, or a task the previous run did not have, is exempt.
 */
import { downstreamOf, type SerializedDag, type SerializedTask } from "./serialized.ts";
import { isFinished, PAST_SUCCESS_STATES } from "./states.ts";

/** True when the task needs the previous run at all (so runs without such tasks skip the read). */
export const dependsOnPrevious = (task: SerializedTask) => task.dependsOnPast || task.waitForDownstream;

/** Why `task` may not start because of the previous run (null: it may), given that run's states. */
export function pastBlocks(
  dag: SerializedDag,
  task: SerializedTask,
  prior: ReadonlyMap<string, string>,
): "previous_not_successful" | "downstream_not_finished" | null {
  if (!dependsOnPrevious(task)) return null;
  const own = prior.get(task.taskId);
  if (own !== undefined && !(PAST_SUCCESS_STATES as readonly string[]).includes(own))
    return "previous_not_successful";
  if (!task.waitForDownstream) return null;
  const down = downstreamOf(dag).get(task.taskId) ?? [];
  return down.some((d) => prior.has(d) && !isFinished(prior.get(d)!)) ? "downstream_not_finished" : null;
}

/** The tasks of `dag` held back by the previous run, whose task instances were in `prior` (by task id). */
export function blockedByPast(dag: SerializedDag, prior: ReadonlyMap<string, string>): Set<string> {
  return new Set(dag.tasks.filter((t) => pastBlocks(dag, t, prior) !== null).map((t) => t.taskId));
}
