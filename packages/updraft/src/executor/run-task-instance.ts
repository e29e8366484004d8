/**
 * The task runner: runs one try of one task instance and records everything it does. It is the only
 * code that moves a task instance through running to its outcome; the scheduler never runs user code.
 *
 *   queued -> running (try number + 1) -> success | skipped | up_for_retry | failed
 *
 * Bash tasks run in their own process group; TypeScript tasks in the TaskFlow pool; empty tasks
 * succeed at once. Output goes to the try's log file, with secrets masked.
 *
 * Every write of the try is fenced by its try number and owner (storage/task-instances.ts): a try that
 * lost its task instance to another (it was presumed dead and replaced) has its result refused. The
 * result is recorded through database outages (retried with backoff), and a start that fails puts
 * the task instance back to scheduled, so a claimed task instance is never left behind.
 */
import type { OutletEventsWire } from "../sdk/assets.ts";
import type { AssetEventDraft } from "../storage/assets.ts";
import { hostname as osHostname } from "node:os";
import { canRetry, retryDelaySeconds } from "../core/retry.ts";
import { allDownstream } from "../core/graph.ts";
import { downstreamOf, taskById, type SerializedDag, type SerializedTask } from "../core/serialized.ts";
import { expandGroupIds } from "../core/task-groups.ts";
import { findXComRefs, resolveXComRefs } from "../sdk/index.ts";
import { latestRunWindow, timetableDagOf } from "../core/timetables/index.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import type { DagRunRow, TaskInstanceRow } from "../storage/schema.ts";
import type { ClaimedTaskInstance } from "../storage/sql/claim-task-instances.ts";
import { retrying } from "../storage/retry.ts";
import { SHUTDOWN } from "./local-executor.ts";
import { taskInstanceStore, type TryFence } from "../storage/task-instances.ts";
import { tryWrites } from "../storage/try-batches.ts";
import { pauseTry, pokesOf, type Pause } from "../storage/waits.ts";
import { runSensor } from "./sensor.ts";
import { encodeXCom, RETURN_VALUE, xcomStore } from "../storage/xcom.ts";
import { elementOf } from "../storage/mapped-inputs.ts";
import {
  mappedConsumers,
  mappedGroupOf,
  unmapTask,
  unmappableReason,
  DEFAULT_MAX_MAP_LENGTH,
} from "../core/mapping.ts";
import { contextForTask, renderFields } from "./task-context.ts";
import { contextEnv, runBashTask, type LogSink, type TaskOutcome } from "../runner/bash-task.ts";
import { sudoUnsupported, type TaskFlowRunner } from "../runner/taskflow-pool.ts";
import { impersonatedUser, resolveRunAs, type RunAs } from "../runner/impersonation.ts";
import type { LookupKind, VariableWrite, VariableWritten } from "../runner/taskflow-protocol.ts";
import type { TriggerSpec } from "../sdk/triggers.ts";
import { bindDagRuns, runTriggerDagRun, type DagRunAccess, type TryDagRuns } from "./cross-dag.ts";
import { callbackPlan, callbackTimeoutMs, hasOnExecute, runTaskCallbacks } from "./task-callbacks.ts";

export interface TaskRunnerDeps {
  database: Database;
  /** Where TypeScript tasks run: the worker pool, or this very process under dag.test(). */
  taskflow: TaskFlowRunner;
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
  /** `[core] max_map_length`: the longest list a mapped task may map over (default 1024). */
  maxMapLength?: number;
  /** `[core] default_impersonation`: the user tasks without runAsUser run as ("" = this process's). */
  defaultImpersonation?: string;
  clock?: () => number;
  /** Told of every try's outcome (metrics). */
  onTryEnded?: (outcome: { state: string; operator: string; seconds: number }) => void;
  random?: () => number;
  /** Where the runner says what it does about the database (retries, refused writes). */
  warn?: (fields: Record<string, unknown>, message: string) => void;
  /** How long a result is retried through database faults before it is given up (ms). */
  recordRetryMs?: number;
  /** The installation's secrets that occur in `text` (what a worker must mask in a workload). */
  secretsIn?: (text: string) => Promise<string[]>;
  /** Answers a TypeScript task's getVariable / getConnection (undefined when there is none). */
  lookup?: (what: LookupKind, key: string) => Promise<unknown>;
  /** Writes a TypeScript task's setVariable, fenced by its try (undefined when it cannot). */
  writeVariable?: (fence: TryFence, variable: VariableWrite) => Promise<VariableWritten>;
  /** Triggers and reads runs of other DAGs for trigger_dagrun tasks (undefined: they fail, saying so). */
  dagRunAccess?: DagRunAccess;
  /** `[core] callback_timeout`: each task callback's limit in seconds (default 60). */
  callbackTimeout?: number;
}

/** A claimed try and its owner (the scheduler job that claimed it; none for `tasks run`). */
export type OwnedTaskInstance = ClaimedTaskInstance & { owner?: number | null };

export interface RenderInput {
  dag: SerializedDag;
  task: SerializedTask;
  run: DagRunRow;
  ti: TaskInstanceRow;
}

export interface TaskLog extends LogSink {
  close(): Promise<void>;
}

/** How a try ended, as its runner saw it (a worker sends it to the execution API as it is). */
export type Result =
  | { state: "success"; value?: unknown; skip?: string[]; outletEvents?: OutletEventsWire }
  | { state: "skipped"; reason: string }
  | { state: "failed"; reason: string; retryable: boolean }
  /** A reschedule-mode sensor that is not done: its slot is free until `at` (ISO), same try. */
  | { state: "up_for_reschedule"; at: string }
  /** Waits on a trigger (no slot held) until it fires, or `timeout` seconds pass (null: no limit). */
  | { state: "deferred"; trigger: TriggerSpec; timeout: number | null };

/**
 * How a try goes on from where it stopped (task_instance.next_method and next_kwargs): after a
 * reschedule ("__poke__"), with a trigger's event ("resume"), or after its trigger's timeout ("__fail__").
 */
export interface NextStep {
  method: "__poke__" | "resume" | "__fail__";
  /** The trigger's payload ("resume"). */
  event?: unknown;
  /** Why the wait failed ("__fail__"). */
  error?: string;
}

export async function runTaskInstance(
  deps: TaskRunnerDeps,
  claimed: OwnedTaskInstance,
  signal: AbortSignal,
  /** Called once the result is in the database, before the log is closed. */
  recorded?: () => void,
): Promise<void> {
  const owner = claimed.owner ?? null;
  // Starting (the start, the log, rendering) is where a try makes its garbage: a thousand tries
  // claimed at once start a few dozen at a time, so the scheduler's memory does not spike with them.
  await starting.acquire();
  let gated = true;
  const ungate = () => {
    if (gated) starting.release();
    gated = false;
  };
  const ti = await startTry(deps, claimed, owner).catch((error: unknown) => {
    ungate();
    throw error;
  });
  if (!ti) return ungate(); // cleared or taken over meanwhile, or put back to scheduled
  const fence: TryFence = { key: claimed, tryNumber: ti.try_number, owner };
  let log: TaskLog | undefined;
  let prepared: Prepared | undefined;
  let result: Result;
  try {
    log = await deps.openLog(ti);
    log.write(
      `running try ${ti.try_number} of ${ti.max_tries + 1} of task "${claimed.taskId}" (${ti.operator}) on ${hostname()}\n`,
      "runner",
    );
    prepared = await prepareWorkload(deps, ti, fence);
    ungate();
    const write = deps.writeVariable;
    const access = deps.dagRunAccess;
    const runner = {
      ...deps,
      setVariable: write && ((v: VariableWrite) => write(fence, v)),
      dagRuns: access && bindDagRuns(access, fence),
    };
    result =
      "failure" in prepared
        ? prepared.failure
        : await executeWorkload(runner, prepared.workload, log, signal);
  } catch (error) {
    result = { state: "failed", reason: (error as Error).message, retryable: true };
  } finally {
    ungate();
  }
  const sink = log ?? silentLog;
  // The log's file descriptor is never left open; a file that could not be written is said here.
  const closeLog = () =>
    log
      ?.close()
      .catch((error: unknown) =>
        deps.warn?.(
          { err: error, dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, tryNumber: ti.try_number },
          "the try's log could not be written",
        ),
      );
  // So is ending (the result, the log's close): a thousand tries ending at once end a few dozen at a time.
  await ending.acquire();
  let after: (() => Promise<unknown>) | undefined;
  try {
    const handOver = signal.reason === SHUTDOWN;
    const state = await completeTry(deps, ti, fence, prepared, result, sink, handOver);
    recorded?.();
    sink.write(
      `try ${ti.try_number} ended: ${state}${"reason" in result ? ` (${result.reason})` : ""}\n`,
      "runner",
    );
    // Callbacks only once the outcome is recorded (a refused write calls none), outside the gate.
    const workload = prepared && "workload" in prepared ? prepared.workload : undefined;
    const plan = workload && callbackPlan(workload.task, state, result, handOver);
    if (workload && plan) after = () => runTaskCallbacks(deps, workload, plan, sink);
    else if (!workload && (state === "failed" || state === "up_for_retry"))
      after = () => failedEarlyCallbacks(deps, ti, { state, result, handOver }, sink);
  } finally {
    if (!after) await closeLog();
    ending.release();
  }
  if (after) await after().finally(closeLog);
}

/**
 * The callbacks of a try that failed before its workload was ready (a template that does not render,
 * a mapped element that cannot be read): they get the task's context without its rendered fields.
 */
async function failedEarlyCallbacks(
  deps: TaskRunnerDeps,
  ti: TaskInstanceRow,
  ended: { state: string; result: Result; handOver: boolean },
  log: LogSink,
): Promise<void> {
  try {
    const run = await deps.loadRun(ti.dag_run_id);
    const dag = await deps.loadDag(ti.dag_id, run.dag_hash);
    const task = dag.tasks.find((t) => t.taskId === ti.task_id);
    const plan = task && callbackPlan(task, ended.state, ended.result, ended.handOver);
    if (!task || !plan) return;
    const bare = { ...task, templateFields: {}, args: [] };
    const { context } = await deps.render({ dag, task: bare, run, ti });
    const workload = workloadOf(ti, run, dag, {
      fileVersion: await deps.fileVersion(dag.fileloc),
      task,
      fields: {},
      context: contextForTask(context),
      args: [],
    });
    await runTaskCallbacks(deps, workload, plan, log);
  } catch (error) {
    log.write(`the task's callbacks could not run: ${(error as Error).message}\n`, "runner");
  }
}

/**
 * What a try runs, with everything the database had to say about it resolved: the task's spec, its
 * rendered fields and context, the upstream XComs its arguments name. It is plain JSON, so the same
 * value runs a try here (the local executor) or on a worker elsewhere, which receives it from the Task
 * Execution API and never reads the database itself.
 */
export interface Workload {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  tryNumber: number;
  logicalDate: string | null;
  /** The DAG file's path relative to the DAGs folder (each machine resolves it in its own folder). */
  fileloc: string;
  /** A short version of the file's content: a TaskFlow worker reloads a file whose version changed. */
  fileVersion: string;
  task: SerializedTask;
  fields: Record<string, unknown>;
  context: Record<string, unknown>;
  /** A TypeScript task's arguments, upstream XComs in place. */
  args: unknown[];
  /** Where this start goes on from: absent for a fresh try. */
  next?: NextStep;
  /** A sensor's first check of this try (ISO): its timeout counts from there across reschedules. */
  sensorStartedAt?: string;
  /** A sensor's checks of this try so far (its reschedules): exponentialBackoff grows with them. */
  sensorPokes?: number;
}

/** A try's workload and what finishing it needs; or why it failed before it could run. */
export type Prepared =
  | { workload: Workload; dag: SerializedDag; task: SerializedTask }
  | { failure: Result; dag?: SerializedDag; task?: SerializedTask };

/** Loads, renders and resolves what a started try runs (the database's side of a try). */
export async function prepareWorkload(
  deps: TaskRunnerDeps,
  ti: TaskInstanceRow,
  fence: TryFence,
): Promise<Prepared> {
  const run = await deps.loadRun(ti.dag_run_id);
  const dag = await deps.loadDag(ti.dag_id, run.dag_hash);
  const declared = dag.tasks.find((t) => t.taskId === ti.task_id);
  if (!declared)
    return {
      dag,
      failure: {
        state: "failed",
        reason: `task "${ti.task_id}" is no longer in dag "${ti.dag_id}"`,
        retryable: false,
      },
    };
  const mapped = await unmapped(deps, dag, declared, ti);
  if ("failure" in mapped) return { dag, task: declared, failure: mapped.failure };
  const { task } = mapped;
  const taskflow = TASKFLOW.has(task.kind);
  // A TypeScript task's arguments are templates too (Airflow renders op_args / op_kwargs): rendered
  // with its fields, before the upstream values they name are put in (those are not templates).
  const rendering = taskflow
    ? { ...task, templateFields: { ...task.templateFields, args: task.args } }
    : task;
  // Empty and latest-only tasks render nothing, but their callbacks get the task's context.
  const contextOnly = async () =>
    task.callbacks || task.email ? (await deps.render({ dag, task: rendering, run, ti })).context : {};
  const rendered =
    task.kind === "empty"
      ? { fields: {}, context: await contextOnly() }
      : task.kind === "latest_only"
        ? { fields: { latest: isLatestRun(dag, run) }, context: await contextOnly() }
        : await deps.render({ dag, task: rendering, run, ti });
  const { context } = rendered;
  const { args: renderedArgs, ...fields } = rendered.fields;
  const args = taskflow ? await resolveArgs(deps, dag, { ...task, args: renderedArgs as never[] }, ti) : [];
  const patch: { rendered_fields?: string; rendered_map_index?: string } = {};
  const shown = taskflow && args.length > 0 ? { ...fields, args } : fields;
  if (Object.keys(shown).length > 0 && task.kind !== "latest_only")
    patch.rendered_fields = JSON.stringify(shown);
  const label = task.mapIndexTemplate ? mapIndexLabel(task, context, mapped.keywords) : undefined;
  if (label !== undefined) patch.rendered_map_index = label;
  if (Object.keys(patch).length > 0 && !(await taskInstanceStore(deps.database).updateTry(fence, patch)))
    return {
      dag,
      task,
      failure: { state: "failed", reason: "this try no longer owns its task instance", retryable: false },
    };
  const workload = workloadOf(ti, run, dag, {
    // The file's content hash: a worker that loaded an older version of the file loads it afresh.
    fileVersion: taskflow ? await deps.fileVersion(dag.fileloc) : "",
    task,
    fields,
    context: contextForTask(context),
    args,
    ...(await continuation(deps, ti, fence, task)),
  });
  return { workload, dag, task };
}

/** A workload's identity (which try of which task, where its file is) joined to what it runs. */
function workloadOf(
  ti: TaskInstanceRow,
  run: { logical_date: string | null },
  dag: SerializedDag,
  body: Omit<Workload, "dagId" | "runId" | "taskId" | "mapIndex" | "tryNumber" | "logicalDate" | "fileloc">,
): Workload {
  return {
    dagId: ti.dag_id,
    runId: ti.run_id,
    taskId: ti.task_id,
    mapIndex: ti.map_index,
    tryNumber: ti.try_number,
    logicalDate: run.logical_date,
    fileloc: dag.fileloc,
    ...body,
  };
}

/** Where a try goes on from (a wait it comes back from), and a sensor's checks so far. */
async function continuation(
  deps: TaskRunnerDeps,
  ti: TaskInstanceRow,
  fence: TryFence,
  task: SerializedTask,
): Promise<Pick<Workload, "next" | "sensorStartedAt" | "sensorPokes">> {
  const out: Pick<Workload, "next" | "sensorStartedAt" | "sensorPokes"> = {};
  if (ti.next_method === "resume" || ti.next_method === "__fail__" || ti.next_method === "__poke__") {
    const kwargs = ti.next_kwargs ? (JSON.parse(ti.next_kwargs) as { event?: unknown; error?: string }) : {};
    out.next = { method: ti.next_method, ...kwargs };
  }
  if (task.sensor) {
    const earlier = await pokesOf(deps.database, fence);
    out.sensorStartedAt = earlier.first ?? ti.start_date ?? undefined;
    out.sensorPokes = earlier.count;
  }
  return out;
}

/**
 * A mapped task instance's task: its element (read from the sources as they are now) merged into the
 * arguments or fields, and the mapped keywords (what mapIndexTemplate sees). Others: the task itself.
 */
async function unmapped(
  deps: TaskRunnerDeps,
  dag: SerializedDag,
  task: SerializedTask,
  ti: TaskInstanceRow,
): Promise<{ task: SerializedTask; keywords: Record<string, unknown> } | { failure: Result }> {
  if (!task.expand || ti.map_index < 0) return { task, keywords: {} };
  const found = await elementOf(deps.database, dag, ti.dag_run_id, task.expand, ti.map_index);
  if ("problem" in found)
    return { failure: { state: "failed", reason: found.problem.message, retryable: false } };
  try {
    const concrete = unmapTask(task, found.element);
    // What mapIndexTemplate sees: the element of expand(items) as `item`, else every keyword argument.
    const keywords =
      task.expand.mode === "list"
        ? { item: found.element }
        : TASKFLOW.has(task.kind)
          ? { ...(concrete.args[0] as Record<string, unknown>) }
          : { ...concrete.templateFields };
    return { task: concrete, keywords };
  } catch (error) {
    return { failure: { state: "failed", reason: (error as Error).message, retryable: false } };
  }
}

/** A mapped instance's label: its mapIndexTemplate rendered with the context and its mapped keywords. */
function mapIndexLabel(
  task: SerializedTask,
  context: Record<string, unknown>,
  keywords: Record<string, unknown>,
): string | undefined {
  try {
    const { label } = renderFields(
      { label: task.mapIndexTemplate },
      { ...context, ...keywords },
      `task "${task.taskId}"`,
    );
    return String(label).slice(0, 250);
  } catch {
    // A label is a convenience: the instance runs without one, shown by its index (as Airflow does).
    return undefined;
  }
}

/**
 * What runs a workload on this machine: the TaskFlow pool, the DAGs folder, the default user, and
 * how the task's lookups and writes reach the database (here, or through the Task Execution API).
 */
export type WorkloadRunner = Pick<
  TaskRunnerDeps,
  "taskflow" | "resolveFile" | "defaultImpersonation" | "lookup" | "callbackTimeout" | "warn"
> & {
  /** The task's setVariable, already bound to its try. */
  setVariable?: (variable: VariableWrite) => Promise<VariableWritten>;
  /** A trigger_dagrun try's way to the installation's runs, bound to its try. */
  dagRuns?: TryDagRuns;
};

/** Runs a try's workload here and returns its result; records nothing (the caller does, or a worker reports it). */
export async function executeWorkload(
  deps: WorkloadRunner,
  w: Workload,
  log: LogSink,
  signal: AbortSignal,
): Promise<Result> {
  const { task } = w;
  // A TypeScript task's onExecute runs in its worker right before its function (runTaskFlow).
  if (hasOnExecute(w) && !CALLS_ON_EXECUTE.has(task.kind))
    await runTaskCallbacks(deps, w, { event: "onExecute", exception: null, email: null }, log);
  if (task.kind === "empty" || task.kind === "external_task_marker") return { state: "success" };
  if (task.kind === "latest_only") return latestOnly(w, log);
  if (task.kind === "trigger_dagrun") return runTriggerDagRun(w, { dagRuns: deps.dagRuns, log, signal });
  const user = impersonatedUser(task.runAsUser, deps.defaultImpersonation ?? "");
  let runAs: RunAs | undefined;
  try {
    runAs = user === undefined ? undefined : await resolveRunAs(user);
  } catch (error) {
    return { state: "failed", reason: (error as Error).message, retryable: false };
  }
  if (runAs) log.write(`running as the operating-system user "${runAs.user}" (uid ${runAs.uid})\n`, "runner");
  if (task.kind === "bash")
    return bashResult(await runBashTask({ ...bashRequest(w, signal), runAs }, log), w.fields);
  if (task.kind === "sensor") {
    // The check gets the rendered fields; every check of the try is a call of its own.
    const poke = () => runTaskFlow(deps, { ...w, args: [w.fields], next: undefined }, log, signal, runAs);
    return runSensor(w, { poke, log, signal });
  }
  // email(), http() and sql(): their function gets the rendered fields, like a sensor's check.
  if (task.kind === "email" || task.kind === "http" || task.kind === "sql")
    return runTaskFlow(deps, { ...w, args: [w.fields], next: undefined }, log, signal, runAs);
  if (task.kind === "task_bash") return runTaskBash(deps, w, log, signal, runAs);
  if (w.next?.method === "__fail__")
    return { state: "failed", reason: w.next.error ?? "the trigger's timeout passed", retryable: true };
  if (task.kind === "task" || task.kind === "branch" || task.kind === "short_circuit")
    return runTaskFlow(deps, w, log, signal, runAs);
  return {
    state: "failed",
    reason: `task kind "${task.kind}" is not supported by this version of Updraft`,
    retryable: false,
  };
}

/**
 * Records a try's result (the database's side of a try's end): a branch's or short-circuit's choice
 * becomes the tasks it skips, then `record` writes it all in one fenced transaction.
 */
export async function completeTry(
  deps: TaskRunnerDeps,
  ti: TaskInstanceRow,
  fence: TryFence,
  prepared: Pick<Prepared, "dag" | "task"> | undefined,
  result: Result,
  log: LogSink,
  handOver = false,
): Promise<string> {
  const { dag, task } = prepared ?? {};
  if (result.state === "success" && dag && task && CHOOSING.has(task.kind))
    result = applyChoice(dag, task, result.value, log);
  if (result.state === "success" && dag && task)
    result = checkMappable(dag, task, result, deps.maxMapLength ?? DEFAULT_MAX_MAP_LENGTH);
  return record(deps, ti, fence, task, result, log, handOver);
}

/**
 * A value a mapped task maps over must suit it (Airflow fails the pushing task, so the error is in
 * its log): a list (of objects, for expandKwargs), at most `[core] max_map_length` long.
 */
function checkMappable(dag: SerializedDag, task: SerializedTask, result: Result, max: number): Result {
  // A mapped task's output is its instances' values gathered: its expansion checks that list.
  if (result.state !== "success" || taskById(dag, task.taskId)?.task.expand) return result;
  const value = result.value;
  const keys = [
    RETURN_VALUE,
    ...(task.multipleOutputs && value && typeof value === "object" ? Object.keys(value) : []),
  ];
  for (const key of keys) {
    const pushed = key === RETURN_VALUE ? value : (value as Record<string, unknown>)[key];
    for (const consumer of mappedConsumers(dag, task.taskId, key)) {
      // Nothing pushed: the mapped task is skipped, as Airflow does.
      if (pushed === undefined || pushed === null) continue;
      const what = `the XCom "${key}" is mapped over by task "${consumer.taskId}"`;
      const reason = unmappableReason(pushed, consumer.expand!.mode);
      if (reason)
        return { state: "failed", reason: `${what}, but ${reason}: return a list`, retryable: false };
      if ((pushed as unknown[]).length > max)
        return {
          state: "failed",
          reason: `${what}, but it has ${(pushed as unknown[]).length} elements, over [core] max_map_length (${max}): return fewer, or raise the setting`,
          retryable: false,
        };
    }
  }
  return result;
}

/** A counting semaphore: at most `n` holders at once, the others served in order. */
class Gate {
  #free: number;
  readonly #line: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async acquire(): Promise<void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#line.push(resolve));
  }
  release(): void {
    const next = this.#line.shift();
    if (next) next();
    else this.#free++;
  }
}

/** Tries of this process between their claim and their task's start, and between its end and its record. */
const starting = new Gate(32);
const ending = new Gate(32);

/** Asked of the system once: it is read for every try, and each read is a system call. */
let host: string | undefined;
const hostname = () => (host ??= osHostname());

const silentLog: TaskLog = { write: () => undefined, close: async () => undefined };

/**
 * queued -> running, retried through database faults. A start that still fails puts the task
 * instance back to scheduled (with the reason in its next try's log) instead of leaving it queued
 * and claimed forever.
 */
async function startTry(deps: TaskRunnerDeps, claimed: OwnedTaskInstance, owner: number | null) {
  const tis = taskInstanceStore(deps.database);
  const started = nowIso(deps.clock);
  const patch = {
    start_date: started,
    end_date: null,
    duration: null,
    hostname: hostname(),
    pid: process.pid,
    last_heartbeat_at: started,
    next_retry_at: null,
  };
  try {
    // Batched with the other starts waiting at this moment (storage/try-batches.ts).
    const request = { key: claimed, owner, start_date: started, hostname: patch.hostname, pid: patch.pid };
    return await retrying(() => tryWrites(deps.database).start(request), {
      what: `starting ${claimed.dagId}.${claimed.taskId}`,
      maxMs: 30_000,
      onRetry: (r) =>
        deps.warn?.({ err: r.error, attempt: r.attempt }, `${r.what}: the database failed; retrying`),
    });
  } catch (error) {
    const reason = (error as Error).message;
    deps.warn?.({ err: error, dagId: claimed.dagId, taskId: claimed.taskId }, "a try could not start");
    const back = await retrying(() => tis.releaseClaim(claimed, owner), {
      what: `putting ${claimed.dagId}.${claimed.taskId} back to scheduled`,
    }).catch(() => false);
    const row = back ? await tis.get(claimed).catch(() => undefined) : undefined;
    if (row) {
      const log = await deps.openLog({ ...row, try_number: row.try_number + 1 }).catch(() => undefined);
      log?.write(`the try could not start (${reason}); the task instance is scheduled again\n`, "runner");
      await log?.close().catch(() => undefined);
    }
    return undefined;
  }
}

function bashRequest(w: Workload, signal: AbortSignal) {
  const env = {
    ...(w.fields.env as Record<string, string> | undefined),
    ...contextEnv({
      dagId: w.dagId,
      taskId: w.taskId,
      runId: w.runId,
      tryNumber: w.tryNumber,
      logicalDate: w.logicalDate,
    }),
  };
  return {
    command: String(w.fields.command ?? ""),
    env,
    cwd: w.fields.cwd as string | undefined,
    timeout: w.task.executionTimeout,
    signal,
  };
}

/**
 * task.bash (Airflow's @task.bash): the function makes the command in a TaskFlow worker, the command
 * is rendered as a template (as Airflow renders it again) and runs as a bash task.
 */
async function runTaskBash(
  deps: WorkloadRunner,
  w: Workload,
  log: LogSink,
  signal: AbortSignal,
  runAs: RunAs | undefined,
): Promise<Result> {
  const made = await runTaskFlow(deps, { ...w, next: undefined }, log, signal, runAs);
  if (made.state !== "success") return made;
  const command = made.value;
  if (typeof command !== "string" || command.trim() === "")
    return {
      state: "failed",
      reason: `task.bash("${w.taskId}") must return the command, a non-empty string, got ${JSON.stringify(command) ?? "undefined"}`,
      retryable: false,
    };
  let rendered: string;
  try {
    rendered = String(renderFields({ command }, w.context, `task "${w.taskId}"`).command);
  } catch (error) {
    return { state: "failed", reason: (error as Error).message, retryable: false };
  }
  const request = bashRequest({ ...w, fields: { ...w.fields, command: rendered } }, signal);
  return bashResult(await runBashTask({ ...request, runAs }, log), w.fields);
}

/** A bash task's end; on success its XCom is the last line it wrote, unless `doXcomPush: false`. */
function bashResult(outcome: TaskOutcome, fields: Record<string, unknown>): Result {
  if (outcome.state === "success")
    return fields.doXcomPush === false ? { state: "success" } : { state: "success", value: outcome.lastLine };
  if (outcome.state === "skipped") return { state: "skipped", reason: `exit code ${outcome.exitCode}` };
  return { state: "failed", reason: outcome.reason, retryable: true };
}

/** A TypeScript task's arguments: its XComArgs replaced by the upstream values they name. */
async function resolveArgs(
  deps: TaskRunnerDeps,
  dag: SerializedDag,
  task: SerializedTask,
  ti: TaskInstanceRow,
): Promise<unknown[]> {
  const xcoms = xcomStore(deps.database);
  const pulled = new Map<string, unknown>();
  const group = mappedGroupOf(taskById(dag, task.taskId)?.task);
  for (const ref of findXComRefs(task.args as never)) {
    const id = `${ref.taskId}\u0000${ref.key}`;
    if (pulled.has(id)) continue;
    const from = taskById(dag, ref.taskId)?.task;
    // In a mapped task group, instance i of a task gets instance i's value of the group's tasks.
    if (group !== undefined && ti.map_index >= 0 && mappedGroupOf(from) === group) {
      pulled.set(id, (await xcoms.find(ti.dag_run_id, ref.taskId, ref.key, ti.map_index))?.value);
      continue;
    }
    // A mapped task's output: its instances' values in map-index order (Airflow's lazy sequence).
    if (from?.expand) {
      pulled.set(id, await xcoms.mapped(ti.dag_run_id, ref.taskId, ref.key));
      continue;
    }
    const found = await xcoms.find(ti.dag_run_id, ref.taskId, ref.key);
    // As Airflow: a task that returned nothing gives null; any other key must have been pushed.
    if (!found && ref.key !== RETURN_VALUE)
      throw new Error(
        `the argument from task "${ref.taskId}" is its XCom "${ref.key}", which "${ref.taskId}" never pushed in this run: ` +
          `push that key from "${ref.taskId}" (or return an object with multipleOutputs: true), or pass another key`,
      );
    pulled.set(id, found?.value);
  }
  return resolveXComRefs(
    task.args as never,
    (ref) => pulled.get(`${ref.taskId}\u0000${ref.key}`) as never,
  ) as unknown[];
}

async function runTaskFlow(
  deps: WorkloadRunner,
  w: Workload,
  log: LogSink,
  signal: AbortSignal,
  runAs: RunAs | undefined,
): Promise<Result> {
  if (runAs?.via === "sudo")
    return { state: "failed", reason: sudoUnsupported(runAs.user), retryable: false };
  const outcome = await deps.taskflow.run({
    request: {
      path: deps.resolveFile(w.fileloc),
      version: w.fileVersion,
      dagId: w.dagId,
      taskId: w.taskId,
      args: w.args,
      context: w.context,
      ...(w.next?.method === "resume" ? { resume: { event: w.next.event ?? null } } : {}),
      ...(hasOnExecute(w) && CALLS_ON_EXECUTE.has(w.task.kind)
        ? { onExecuteMs: callbackTimeoutMs(deps) }
        : {}),
    },
    memoryLimit: w.task.memoryLimit,
    timeout: w.task.executionTimeout,
    log,
    signal,
    runAs,
    lookup: deps.lookup,
    setVariable: deps.setVariable,
    isolation: w.task.isolation,
  });
  if (outcome.state !== "success") return outcome;
  return {
    state: "success",
    value: outcome.value,
    ...(outcome.outletEvents ? { outletEvents: outcome.outletEvents } : {}),
  };
}

/**
 * After a branch or short-circuit task: skip what it did not choose. A branch returns the ids (one, a
 * list, or null for none) of its direct downstream tasks to follow; a short-circuit task's falsy
 * result skips everything after it, or only its direct downstream when it respects trigger rules.
 */
function applyChoice(dag: SerializedDag, task: SerializedTask, value: unknown, log: LogSink): Result {
  const direct = downstreamOf(dag).get(task.taskId) ?? [];
  let skip: string[];
  if (task.kind === "latest_only") return { state: "success", skip: value === true ? [] : direct };
  if (task.kind === "branch") {
    const chosen = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
    // A task group's id stands for its first tasks, as in Airflow.
    const followed = expandGroupIds(dag, chosen, downstreamOf(dag));
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
      task.templateFields.ignoreDownstreamTriggerRules === false
        ? direct
        : [...allDownstream(dag, task.taskId)];
    log.write(`condition is falsy: skipping ${JSON.stringify(skip)}\n`, "runner");
  }
  // Written with the try's result, in its fenced transaction (record).
  return { state: "success", value, skip };
}

/**
 * The asset events of a successful try: one per asset outlet (with the extra the task gave it), and
 * one per asset the task added to an alias outlet (Airflow's outlet_events).
 */
function assetEventsOf(
  ti: TaskInstanceRow,
  task: SerializedTask,
  wire: OutletEventsWire | undefined,
  log: LogSink,
): AssetEventDraft[] {
  const source = { dagId: ti.dag_id, taskId: ti.task_id, runId: ti.run_id, mapIndex: ti.map_index };
  const extraOf = new Map((wire?.assets ?? []).map((a) => [a.uri, a.extra]));
  const drafts: AssetEventDraft[] = [];
  const aliases = new Map<string, string>();
  for (const outlet of task.outlets ?? []) {
    if (outlet.type === "alias") {
      aliases.set(outlet.name, outlet.group);
      continue;
    }
    const { type: _type, ...asset } = outlet;
    drafts.push({ asset, extra: extraOf.get(outlet.uri) ?? {}, source });
  }
  for (const added of wire?.aliases ?? []) {
    const group = aliases.get(added.alias);
    if (group === undefined) {
      log.write(
        `outletEvents: alias "${added.alias}" is not among the task's outlets: its event is not recorded\n`,
        "runner",
      );
      continue;
    }
    drafts.push({ asset: added.asset, extra: added.extra, source, alias: { name: added.alias, group } });
  }
  return drafts;
}

/**
 * Writes the outcome in one fenced transaction, retried through database faults; returns the state
 * recorded, or "refused" when the try no longer owns its task instance.
 */
async function record(
  deps: TaskRunnerDeps,
  ti: TaskInstanceRow,
  fence: TryFence,
  task: SerializedTask | undefined,
  result: Result,
  log: LogSink,
  handOver = false,
): Promise<string> {
  const tis = taskInstanceStore(deps.database);
  const ended = nowIso(deps.clock);
  const duration = (Date.parse(ended) - Date.parse(ti.start_date ?? ended)) / 1000;
  if (result.state === "up_for_reschedule" || result.state === "deferred")
    return recordPause(deps, ti, fence, result, log, { ended, duration });
  let xcom: string | undefined;
  let outputs: Record<string, string> | undefined;
  if (result.state === "success" && result.value !== undefined && result.value !== null) {
    try {
      xcom = encodeXCom(result.value, deps.xcomMaxSize, `task "${ti.task_id}"`);
      if (task?.multipleOutputs) outputs = encodeOutputs(result.value, deps.xcomMaxSize, ti.task_id);
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
  let maxTries = ti.max_tries;
  if (handOver && result.state === "failed") {
    // Stopped by its scheduler's shutdown, not failed by its task: it runs again, using no retry.
    state = "up_for_retry";
    nextRetryAt = ended;
    maxTries = ti.max_tries + 1;
    result = {
      state: "failed",
      reason: "its scheduler shut down before it finished: it runs again",
      retryable: true,
    };
  }
  if (result.state === "failed") log.write(`task failed: ${result.reason}\n`, "runner");
  const assetEvents =
    result.state === "success" && task?.outlets
      ? assetEventsOf(ti, task, result.outletEvents, log)
      : undefined;
  const outcome = { xcom, outputs, skip: result.state === "success" ? result.skip : undefined, assetEvents };
  const what = `recording try ${ti.try_number} of ${ti.dag_id}.${ti.task_id} (run ${ti.run_id})`;
  const retry = {
    what,
    maxMs: deps.recordRetryMs ?? 15 * 60_000,
    onRetry: (r: { attempt: number; delayMs: number; error: unknown }) => {
      if (r.attempt === 1)
        log.write(`the database failed while ${what}; retrying until it answers\n`, "runner");
      deps.warn?.(
        { err: r.error, attempt: r.attempt, delayMs: r.delayMs },
        `${what}: the database failed; retrying`,
      );
    },
  };
  const patch = { end_date: ended, duration, next_retry_at: nextRetryAt, max_tries: maxTries };
  // Batched with the other results waiting at this moment (storage/try-batches.ts).
  const request = { fence, from: "running" as const, to: state, patch, outcome };
  if (await retrying(() => tryWrites(deps.database).finish(request), retry)) {
    deps.onTryEnded?.({ state, operator: ti.operator ?? "unknown", seconds: duration });
    return state;
  }
  // Cleared while running: it was marked restarting and stopped; it goes back to run again.
  const restart = { end_date: ended, duration };
  if (await retrying(() => tis.finishTry(fence, "restarting", "none", restart), retry)) {
    log.write("the task was cleared while running: it will run again\n", "runner");
    return "restarting";
  }
  log.write(
    `this try no longer owns its task instance (another try or a user changed it): its result (${state}) is not recorded\n`,
    "runner",
  );
  deps.warn?.(
    {
      dagId: ti.dag_id,
      runId: ti.run_id,
      taskId: ti.task_id,
      tryNumber: ti.try_number,
      owner: fence.owner,
      state,
    },
    "a stale try's result was refused",
  );
  return "refused";
}

/**
 * A try that stops to wait (storage/waits.ts): its slot goes back and the same try goes on later. A
 * pause made while its scheduler shuts down is recorded as any other (the wait does not need it).
 */
async function recordPause(
  deps: TaskRunnerDeps,
  ti: TaskInstanceRow,
  fence: TryFence,
  result: Extract<Result, { state: "up_for_reschedule" | "deferred" }>,
  log: LogSink,
  at: { ended: string; duration: number },
): Promise<string> {
  const pause: Pause =
    result.state === "up_for_reschedule"
      ? { kind: "reschedule", at: result.at }
      : {
          kind: "defer",
          trigger: result.trigger,
          timeoutAt:
            result.timeout === null
              ? null
              : new Date(Date.parse(at.ended) + result.timeout * 1000).toISOString(),
        };
  const times = { start_date: ti.start_date ?? at.ended, end_date: at.ended, duration: at.duration };
  const what = `recording the wait of try ${ti.try_number} of ${ti.dag_id}.${ti.task_id} (run ${ti.run_id})`;
  const paused = await retrying(() => pauseTry(deps.database, fence, pause, times, at.ended), {
    what,
    maxMs: deps.recordRetryMs ?? 15 * 60_000,
    onRetry: (r) =>
      deps.warn?.(
        { err: r.error, attempt: r.attempt, delayMs: r.delayMs },
        `${what}: the database failed; retrying`,
      ),
  });
  if (!paused) {
    log.write(
      `this try no longer owns its task instance: its wait (${result.state}) is not recorded\n`,
      "runner",
    );
    return "refused";
  }
  if (pause.kind === "reschedule")
    log.write(`not yet: the next check is at ${pause.at}; the slot is free until then\n`, "runner");
  else
    log.write(
      `deferred on ${pause.trigger.classpath} ${JSON.stringify(pause.trigger.kwargs)}${pause.timeoutAt ? `, at most until ${pause.timeoutAt}` : ""}; the slot is free until it fires\n`,
      "runner",
    );
  deps.onTryEnded?.({ state: result.state, operator: ti.operator ?? "unknown", seconds: at.duration });
  return result.state;
}

/** A multipleOutputs task's result, one XCom per key (Airflow's multiple_outputs): it must be an object. */
function encodeOutputs(value: unknown, maxSize: number, taskId: string): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new Error(
      `task "${taskId}" has multipleOutputs: true, so it must return an object (each key becomes an XCom), got ${Array.isArray(value) ? "an array" : typeof value}`,
    );
  const outputs: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === "" || key === RETURN_VALUE)
      throw new Error(
        `task "${taskId}" returned the key "${key}", which cannot be an XCom key of its own: rename it`,
      );
    if (v !== undefined) outputs[key] = encodeXCom(v, maxSize, `task "${taskId}", key "${key}"`);
  }
  return outputs;
}

/** Task kinds whose result picks what runs next (their skips are written with their end). */
const CHOOSING = new Set(["branch", "short_circuit", "latest_only"]);
/** The kinds whose work is a TypeScript function (TaskFlow). */
const TASKFLOW = new Set(["task", "branch", "short_circuit", "sensor", "email", "http", "sql", "task_bash"]);
/** Kinds whose function call runs onExecute itself (a sensor's checks are many calls: it runs once, before). */
const CALLS_ON_EXECUTE = new Set(["task", "branch", "short_circuit"]);

/**
 * Airflow's LatestOnlyOperator: a run goes on past it when it was triggered by hand, or when now
 * lies in its window (latestRunWindow: from its interval's start to the end of the run after it);
 * otherwise every task directly after it is skipped (and what follows, by trigger rules).
 */
function isLatestRun(dag: SerializedDag, run: DagRunRow): boolean {
  if (run.run_type === "manual" || run.data_interval_start === null || run.data_interval_end === null)
    return true;
  const now = new Date();
  const interval = { start: new Date(run.data_interval_start), end: new Date(run.data_interval_end) };
  const window = latestRunWindow(timetableDagOf(dag), interval, now);
  return window === null || (window.start < now && now <= window.end);
}

function latestOnly(w: Workload, log: LogSink): Result {
  const latest = w.fields.latest === true;
  log.write(
    latest
      ? "the latest run (or one triggered by hand): the tasks after this one run\n"
      : "not the latest run: the tasks directly after this one are skipped\n",
    "runner",
  );
  return { state: "success", value: latest };
}
