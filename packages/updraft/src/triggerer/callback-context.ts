/**
 * The context a DAG or deadline callback gets (sdk/callback-types.ts CallbackContext), built by the
 * triggerer from the database as a task's is (executor/task-context.ts): the run's values, and for a
 * run that failed because a task failed, that task's `ti` and `task` (Airflow passes the context of
 * the last failed task). Plain JSON: the user-code child adds `var`, `conn` and `macros`.
 */
import { taskById, type SerializedDag, type SerializedTask } from "../core/serialized.ts";
import { buildContext, contextForTask } from "../executor/task-context.ts";
import type { CallbackPayload, ClaimedCallback } from "../storage/callbacks.ts";
import type { Database } from "../storage/database.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import type { DagRunRow, TaskInstanceRow } from "../storage/schema.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";

export interface CallbackTarget {
  dag: SerializedDag;
  run: DagRunRow;
  payload: CallbackPayload;
  context: Record<string, unknown>;
}

/** What the request's callbacks need, or why they cannot run (the run or the DAG is gone). */
export async function callbackTarget(
  database: Database,
  request: ClaimedCallback,
): Promise<CallbackTarget | { error: string }> {
  const run = await dagRunStore(database).get(request.dag_id, request.run_id);
  if (!run || run.id !== request.dag_run_id)
    return { error: `run "${request.run_id}" of dag "${request.dag_id}" no longer exists` };
  const dag = await dagStore(database).getSerialized(request.dag_id);
  if (!dag) return { error: `dag "${request.dag_id}" is no longer in the DAGs folder` };
  const payload = parsePayload(request.payload);
  const ti = payload.taskId
    ? await taskInstanceStore(database).get({
        dagId: run.dag_id,
        runId: run.run_id,
        taskId: payload.taskId,
        mapIndex: payload.mapIndex ?? -1,
      })
    : undefined;
  return { dag, run, payload, context: runContext(dag, run, ti, payload) };
}

function runContext(
  dag: SerializedDag,
  run: DagRunRow,
  ti: TaskInstanceRow | undefined,
  payload: CallbackPayload,
): Record<string, unknown> {
  const task = ti ? taskById(dag, ti.task_id)?.task : undefined;
  const built = buildContext(dag, task ?? PLACEHOLDER_TASK, run, ti ?? placeholderTi(run), {
    variables: new Map(),
    connections: new Map(),
  });
  const values = contextForTask(built);
  // A run's event without a task: no ti, task, or try start to show.
  if (!ti || !task)
    for (const key of ["ti", "task", "task_instance_key_str", "start_date"]) delete values[key];
  const dagRun = values.dag_run as Record<string, unknown>;
  Object.assign(dagRun, {
    state: run.state,
    start_date: run.start_date,
    end_date: run.end_date,
    queued_at: run.queued_at,
  });
  return {
    ...values,
    reason: payload.reason,
    // Updraft keeps no task exception apart from the try's log; the task that failed is in `ti`.
    exception: null,
    ...(payload.deadline ? { deadline: payload.deadline } : {}),
  };
}

const PLACEHOLDER_TASK = { taskId: "", kind: "", retries: 0 } as SerializedTask;

function placeholderTi(run: DagRunRow): TaskInstanceRow {
  return {
    dag_id: run.dag_id,
    run_id: run.run_id,
    task_id: "",
    map_index: -1,
    try_number: 0,
    max_tries: 0,
    queue: "",
    hostname: null,
    start_date: null,
  } as unknown as TaskInstanceRow;
}

function parsePayload(text: string): CallbackPayload {
  try {
    const value = JSON.parse(text) as CallbackPayload;
    return value && typeof value === "object" ? value : { reason: null };
  } catch {
    return { reason: null };
  }
}
