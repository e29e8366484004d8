/**
 * Marking a run by hand (Airflow's set_dag_run_state_to_success/failed/queued): success marks every
 * task instance that has not succeeded as success; failed fails the ones running (running, deferred,
 * up_for_reschedule) and skips the ones not finished; queued only queues the run again. Every task
 * instance change goes through the state machine (core/states.ts): when it forbids one of the moves,
 * nothing changes and the caller is told which.
 *
 * Teardowns still clean up (Airflow 3: "teardown will also be carried out if the Dag run is manually
 * set to failed or success"): in an active run, an unfinished teardown that its rule would still run
 * once the marking is done (one of its setups succeeded, or it has none) is left alone, running or
 * to be scheduled. The run then stays active with `marked_state`, and the scheduler ends it in that
 * state once the teardowns are done (scheduler/examine-runs.ts). A teardown whose setups never ran
 * is marked like any other task.
 */
import { InvalidInputError } from "../core/errors.ts";
import { setupIds } from "../core/setup-teardown.ts";
import type { SerializedDag } from "../core/serialized.ts";
import {
  assertTransition,
  isFinished,
  RUN_STATES,
  type RunState,
  type TaskInstanceState,
} from "../core/states.ts";
import { countUpstream, settle } from "../core/trigger-rules.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { dagRunStore, datesFor } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import type { DagRunRow, TaskInstanceRow } from "../storage/schema.ts";
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
  const rows = await tis.listByRun(run.id);
  const active = run.state === "queued" || run.state === "running";
  const dag = state !== "queued" && active ? await dagStore(database).getSerialized(run.dag_id) : undefined;
  const left = dag ? teardownsLeftToRun(dag, rows, state) : new Set<string>();
  const moves: Marked[] = [];
  for (const ti of rows) {
    const from = fromDb(ti.state);
    const to = left.has(ti.task_id) ? undefined : targetOf(state, from);
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
  const runs = dagRunStore(database);
  // Before the tasks move: the scheduler that sees the teardowns end then knows how the run ends.
  const waiting =
    left.size > 0 &&
    state !== "queued" &&
    (await runs.transition(
      run.id,
      run.state as RunState,
      run.state as RunState,
      { marked_state: state },
      now,
    ));
  const done: Marked[] = [];
  for (const m of moves) {
    const key = { dagId: run.dag_id, runId: run.run_id, taskId: m.taskId, mapIndex: m.mapIndex };
    // False: another process moved it first; its new state stands.
    if (await tis.transition(key, m.from, m.to, { end_date: now }, now, "user")) done.push(m);
  }
  // A mark by hand wins whatever state the run reached meanwhile (Airflow's set_dag_run_state).
  if (!waiting && run.state !== state)
    await runs.transition(run.id, RUN_STATES, state, { ...datesFor(state, now), marked_state: null }, now);
  return done;
}

/**
 * The unfinished teardowns that still run once the run is marked `state`: those their own trigger
 * rule (core/trigger-rules.ts) would not settle as skipped or upstream_failed, given the states the
 * marking leaves their upstream tasks in (so a teardown whose setups succeeded runs, one whose setups
 * were skipped or failed by the marking does not).
 */
function teardownsLeftToRun(dag: SerializedDag, rows: TaskInstanceRow[], state: MarkState): Set<string> {
  const after = new Map<string, TaskInstanceState[]>();
  const unfinished = new Set<string>();
  for (const ti of rows) {
    const from = fromDb(ti.state);
    if (!isFinished(from)) unfinished.add(ti.task_id);
    const list = after.get(ti.task_id) ?? [];
    list.push(targetOf(state, from) ?? from);
    after.set(ti.task_id, list);
  }
  const setups = setupIds(dag);
  const left = new Set<string>();
  for (const task of dag.tasks) {
    if (!task.isTeardown || !unfinished.has(task.taskId)) continue;
    if (settle(task.triggerRule, countUpstream(task.upstream, after, setups)) === null) left.add(task.taskId);
  }
  return left;
}
