/**
 * The task runner: runs one try of one task instance and records everything it does. It is the only
 * code that moves a task instance through running to its outcome; the scheduler never runs user code.
 *
 *   queued -> running (try number + 1) -> success | skipped | up_for_retry | failed
 *
 * Bash tasks run in their own process group; TypeScript tasks in the TaskFlow pool; empty tasks
 * succeed at once. Output goes to the try's log file, with secrets masked.
 */
import { hostname } from "node:os";
import { canRetry, retryDelaySeconds } from "../core/retry.ts";
import { downstreamOf, type SerializedDag, type SerializedTask } from "../core/serialized.ts";
import { findXComRefs, resolveXComRefs } from "../sdk/index.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import type { DagRunRow, TaskInstanceRow } from "../storage/schema.ts";
import type { ClaimedTaskInstance } from "../storage/sql/claim-task-instances.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { encodeXCom, xcomStore } from "../storage/xcom.ts";
import { contextEnv, runBashTask, type LogSink, type TaskOutcome } from "../runner/bash-task.ts";
import type { TaskFlowPool } from "../runner/taskflow-pool.ts";

export interface TaskRunnerDeps {
  database: Database;
  taskflow: TaskFlowPool;
  /** Absolute path of a DAG file from its stored fileloc. */
  resolveFile(fileloc: string): string;
  loadDag(dagId: string, dagHash: string | null): Promise<SerializedDag>;
  /** The run's row; what rendering reads of it (dates, conf, ids, hash) never changes. */
  loadRun(dagRunId: number): Promise<DagRunRow>;
  /** A short version of a DAG file's content (a TaskFlow worker reloads the file when it changes). */
  fileVersion(fileloc: string): Promise<string>;
  /** Renders the task's template fields with the run's context; returns them and the context. */
  render(input: RenderInput): Promise<{ fields: Record<string, unknown>; context: Record<string, unknown> }>;
  openLog(ti: TaskInstanceRow): Promise<TaskLog>;
  xcomMaxSize: number;
  clock?: () => number;
  /** Told of every try's outcome (metrics). */
  onTryEnded?: (outcome: { state: string; operator: string; seconds: number }) => void;
  random?: () => number;
}

export interface RenderInput {
  dag: SerializedDag;
  task: SerializedTask;
  run: DagRunRow;
  ti: TaskInstanceRow;
}

export interface TaskLog extends LogSink {
  close(): Promise<void>;
}

type Result =
  | { state: "success"; value?: unknown }
  | { state: "skipped"; reason: string }
  | { state: "failed"; reason: string; retryable: boolean };

export async function runTaskInstance(
  deps: TaskRunnerDeps,
  claimed: ClaimedTaskInstance,
  signal: AbortSignal,
): Promise<void> {
  const now = () => nowIso(deps.clock);
  const tis = taskInstanceStore(deps.database);
  const started = now();
  const ti = await tis.startTry(claimed, {
    start_date: started,
    end_date: null,
    duration: null,
    hostname: hostname(),
    pid: process.pid,
    last_heartbeat_at: started,
    next_retry_at: null,
  });
  if (!ti) return; // cleared or taken over meanwhile
  const tryNumber = ti.try_number;
  const log = await deps.openLog(ti);
  let task: SerializedTask | undefined;
  let result: Result;
  try {
    log.write(
      `running try ${tryNumber} of ${ti.max_tries + 1} of task "${claimed.taskId}" (${ti.operator}) on ${hostname()}\n`,
      "runner",
    );
    const run = await deps.loadRun(ti.dag_run_id);
    const dag = await deps.loadDag(claimed.dagId, run.dag_hash);
    task = dag.tasks.find((t) => t.taskId === claimed.taskId);
    result = task
      ? await execute(deps, { dag, task, run, ti }, log, signal)
      : {
          state: "failed",
          reason: `task "${claimed.taskId}" is no longer in dag "${claimed.dagId}"`,
          retryable: false,
        };
  } catch (error) {
    result = { state: "failed", reason: (error as Error).message, retryable: true };
  }
  let recorded: string;
  try {
    recorded = await record(deps, ti, task, result, log);
  } catch (error) {
    await log.close().catch(() => undefined); // the log's file descriptor is not left open
    throw error;
  }
  log.write(
    `try ${tryNumber} ended: ${recorded}${"reason" in result ? ` (${result.reason})` : ""}\n`,
    "runner",
  );
  await log.close();
}

async function execute(
  deps: TaskRunnerDeps,
  input: RenderInput,
  log: TaskLog,
  signal: AbortSignal,
): Promise<Result> {
  const { task, ti, run } = input;
  if (task.kind === "empty") return { state: "success" };
  const { fields, context } = await deps.render(input);
  if (Object.keys(fields).length > 0)
    await deps.database.db
      .updateTable("task_instance")
      .set({ rendered_fields: JSON.stringify(fields) })
      .where("dag_id", "=", ti.dag_id)
      .where("run_id", "=", ti.run_id)
      .where("task_id", "=", ti.task_id)
      .where("map_index", "=", ti.map_index)
      .execute();
  if (task.kind === "bash")
    return bashResult(await runBashTask(bashRequest(fields, ti, run, task, signal), log));
  if (task.kind === "task") return runTaskFlow(deps, input, context, log, signal);
  if (task.kind === "branch" || task.kind === "short_circuit") {
    const result = await runTaskFlow(deps, input, context, log, signal);
    return result.state === "success" ? applyChoice(deps, input, result.value, log) : result;
  }
  return {
    state: "failed",
    reason: `task kind "${task.kind}" is not supported by this version of Updraft`,
    retryable: false,
  };
}

function bashRequest(
  fields: Record<string, unknown>,
  ti: TaskInstanceRow,
  run: DagRunRow,
  task: SerializedTask,
  signal: AbortSignal,
) {
  const env = {
    ...(fields.env as Record<string, string> | undefined),
    ...contextEnv({
      dagId: ti.dag_id,
      taskId: ti.task_id,
      runId: ti.run_id,
      tryNumber: ti.try_number,
      logicalDate: run.logical_date,
    }),
  };
  return {
    command: String(fields.command ?? ""),
    env,
    cwd: fields.cwd as string | undefined,
    timeout: task.executionTimeout,
    signal,
  };
}

function bashResult(outcome: TaskOutcome): Result {
  if (outcome.state === "success") return { state: "success" };
  if (outcome.state === "skipped") return { state: "skipped", reason: `exit code ${outcome.exitCode}` };
  return { state: "failed", reason: outcome.reason, retryable: true };
}

async function runTaskFlow(
  deps: TaskRunnerDeps,
  input: RenderInput,
  context: Record<string, unknown>,
  log: TaskLog,
  signal: AbortSignal,
): Promise<Result> {
  const { dag, task, ti } = input;
  const xcoms = xcomStore(deps.database);
  const pulled = new Map<string, unknown>();
  for (const ref of findXComRefs(task.args as never)) {
    const id = `${ref.taskId}\u0000${ref.key}`;
    if (!pulled.has(id)) pulled.set(id, await xcoms.pull(ti.dag_run_id, ref.taskId, ref.key));
  }
  const args = resolveXComRefs(
    task.args as never,
    (ref) => pulled.get(`${ref.taskId}\u0000${ref.key}`) as never,
  ) as unknown[];
  // The file's content hash: a worker that loaded an older version of the file loads it afresh.
  const version = await deps.fileVersion(dag.fileloc);
  const outcome = await deps.taskflow.run({
    request: {
      path: deps.resolveFile(dag.fileloc),
      version,
      dagId: dag.dagId,
      taskId: task.taskId,
      args,
      context,
    },
    memoryLimit: task.memoryLimit,
    timeout: task.executionTimeout,
    log,
    signal,
  });
  if (outcome.state !== "success") return outcome;
  return { state: "success", value: outcome.value };
}

/**
 * After a branch or short-circuit task: skip what it did not choose. A branch returns the ids (one, a
 * list, or null for none) of its direct downstream tasks to follow; a short-circuit task's falsy
 * result skips everything after it, or only its direct downstream when it respects trigger rules.
 */
async function applyChoice(
  deps: TaskRunnerDeps,
  input: RenderInput,
  value: unknown,
  log: TaskLog,
): Promise<Result> {
  const { dag, task, ti } = input;
  const direct = downstreamOf(dag).get(task.taskId) ?? [];
  let skip: string[];
  if (task.kind === "branch") {
    const followed = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
    const stray = followed.filter((id) => typeof id !== "string" || !direct.includes(id));
    if (stray.length > 0) {
      return {
        state: "failed",
        reason: `branch returned ${JSON.stringify(stray)}, which is not directly downstream of it: return some of ${JSON.stringify(direct)}`,
        retryable: false,
      };
    }
    skip = direct.filter((id) => !followed.includes(id));
    log.write(`following ${JSON.stringify(followed)}; skipping ${JSON.stringify(skip)}\n`, "runner");
  } else {
    if (value) return { state: "success", value };
    skip =
      task.templateFields.ignoreDownstreamTriggerRules === false ? direct : allDownstream(dag, task.taskId);
    log.write(`condition is falsy: skipping ${JSON.stringify(skip)}\n`, "runner");
  }
  const tis = taskInstanceStore(deps.database);
  for (const taskId of skip) {
    await tis
      .transition({ dagId: ti.dag_id, runId: ti.run_id, taskId, mapIndex: ti.map_index }, "none", "skipped", {
        end_date: nowIso(deps.clock),
      })
      .catch(() => false);
  }
  return { state: "success", value };
}

function allDownstream(dag: SerializedDag, taskId: string): string[] {
  const down = downstreamOf(dag);
  const seen = new Set<string>();
  const stack = [...(down.get(taskId) ?? [])];
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(down.get(id) ?? []));
  }
  return [...seen];
}

/** Writes the outcome; returns the state recorded. */
async function record(
  deps: TaskRunnerDeps,
  ti: TaskInstanceRow,
  task: SerializedTask | undefined,
  result: Result,
  log: TaskLog,
): Promise<string> {
  const tis = taskInstanceStore(deps.database);
  const ended = nowIso(deps.clock);
  const duration = (Date.parse(ended) - Date.parse(ti.start_date ?? ended)) / 1000;
  if (result.state === "success" && result.value !== undefined && result.value !== null) {
    try {
      const encoded = encodeXCom(result.value, deps.xcomMaxSize, `task "${ti.task_id}"`);
      await xcomStore(deps.database).push(
        { dagRunId: ti.dag_run_id, dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id },
        encoded,
        ended,
      );
    } catch (error) {
      result = { state: "failed", reason: (error as Error).message, retryable: false };
    }
  }
  let state: "success" | "skipped" | "failed" | "up_for_retry" = result.state;
  let nextRetryAt: string | null = null;
  if (result.state === "failed" && result.retryable && task && canRetry(ti.try_number, ti.max_tries)) {
    state = "up_for_retry";
    const delay = retryDelaySeconds(task, ti.try_number, deps.random);
    nextRetryAt = new Date(Date.parse(ended) + delay * 1000).toISOString();
    log.write(`will retry in ${delay.toFixed(1)}s, at ${nextRetryAt}\n`, "runner");
  }
  if (result.state === "failed") log.write(`task failed: ${result.reason}\n`, "runner");
  const key = { dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, mapIndex: ti.map_index };
  if (
    !(await tis.transition(key, "running", state, { end_date: ended, duration, next_retry_at: nextRetryAt }))
  ) {
    // Cleared while running: it was marked restarting and stopped; it goes back to run again.
    if (await tis.transition(key, "restarting", "none", { end_date: ended, duration })) {
      log.write("the task was cleared while running: it will run again\n", "runner");
      await tis.archiveTry({ ...ti, state: "restarting", end_date: ended, duration });
      return "restarting";
    }
  }
  await tis.archiveTry({ ...ti, state, end_date: ended, duration });
  deps.onTryEnded?.({ state, operator: ti.operator ?? "unknown", seconds: duration });
  return state;
}
