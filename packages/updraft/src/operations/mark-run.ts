/**
 * Marking a run by hand (Airflow's set_dag_run_state_to_success/failed/queued): success marks every
 * task instance that has not succeeded as success; failed fails the ones running (running, deferred,
 * up_for_reschedule) and skips the ones not finished; queued only queues the run again. Every task
 * instance change goes through the state machine (core/states.ts): when it forbids one of the moves,
 * nothing changes and the caller is told which.
 */
import { InvalidInputError } from "../core/errors.ts";
import { assertTransition, isFinished, RUN_STATES, type TaskInstanceState } from "../core/states.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { dagRunStore, datesFor } from "../storage/dag-runs.ts";
import type { DagRunRow } from "../storage/schema.ts";
import { fromDb, taskInstanceStore } from "../storage/task-instances.ts";

export type MarkState = "success" | "failed" | "queued";

export interface Marked {
  taskId: string;
  mapIndex: number;
  from: TaskInstanceState;
  to: TaskInstanceState;
}

const RUNNING: readonly TaskInstanceState[] = ["running", "deferred", "up_for_reschedule"];

/** What marking the run `state` does to a task instance in `from` (undefined: nothing). */
function targetOf(state: MarkState, from: TaskInstanceState): TaskInstanceState | undefined {
  if (state === "success") return from === "success" ? undefined : "success";
  if (state === "failed") {
    if (RUNNING.includes(from)) return "failed";
    return isFinished(from) ? undefined : "skipped";
  }
  return undefined;
}

export async function markRun(
  database: Database,
  run: DagRunRow,
  state: MarkState,
  now = nowIso(),
): Promise<Marked[]> {
  const tis = taskInstanceStore(database);
  const moves: Marked[] = [];
  for (const ti of await tis.listByRun(run.id)) {
    const from = fromDb(ti.state);
    const to = targetOf(state, from);
    if (to) moves.push({ taskId: ti.task_id, mapIndex: ti.map_index, from, to });
  }
  // All or nothing: check every move before making any.
  const illegal: string[] = [];
  for (const m of moves) {
    try {
      assertTransition(m.from, m.to, { dagId: run.dag_id, runId: run.run_id, taskId: m.taskId }, "user");
    } catch {
      illegal.push(`${m.taskId} (${m.from} -> ${m.to})`);
    }
  }
  if (illegal.length > 0)
    throw new InvalidInputError(
      `run "${run.run_id}" of dag "${run.dag_id}" cannot be marked ${state}: the task-instance state machine forbids ${illegal.join(", ")}`,
    );
  const done: Marked[] = [];
  for (const m of moves) {
    const key = { dagId: run.dag_id, runId: run.run_id, taskId: m.taskId, mapIndex: m.mapIndex };
    // False: another process moved it first; its new state stands.
    if (await tis.transition(key, m.from, m.to, { end_date: now }, now, "user")) done.push(m);
  }
  // A mark by hand wins whatever state the run reached meanwhile (Airflow's set_dag_run_state).
  if (run.state !== state)
    await dagRunStore(database).transition(run.id, RUN_STATES, state, datesFor(state, now), now);
  return done;
}
