/**
 * Clearing task instances so they run again (Airflow's "clear"): finished ones go back to no state
 * with fresh retries, running ones are marked restarting (their scheduler stops them, then they run
 * again), their XComs go, and their runs are queued again.
 */
import { ConflictError, InvalidInputError, NotFoundError } from "../core/errors.ts";
import { reachable, upstreamOf } from "../core/graph.ts";
import { relevantSetupsAndTeardowns } from "../core/setup-teardown.ts";
import { downstreamOf, type SerializedDag, type SerializedTask } from "../core/serialized.ts";
import { RUN_STATES, type TaskInstanceState } from "../core/states.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import { ENDED_WAIT, fromDb, taskInstanceStore } from "../storage/task-instances.ts";
import { wakeSchedulers } from "../storage/wakeups.ts";
import { xcomStore } from "../storage/xcom.ts";
import type { DagRunRow, TaskInstanceRow } from "../storage/schema.ts";
import { buildContext, renderFields } from "../executor/task-context.ts";

export interface ClearOptions {
  dagId: string;
  /** Regular expression over task ids; default: every task. */
  taskRegex?: string;
  runId?: string;
  /** Logical-date bounds (inclusive), ISO. */
  startDate?: string;
  endDate?: string;
  upstream?: boolean;
  downstream?: boolean;
  onlyFailed?: boolean;
  dryRun?: boolean;
  /**
   * Only these instances of mapped tasks (task id -> map indexes), as Airflow's task_ids entries
   * [task_id, map_index]; a task not named here has all its instances cleared.
   */
  mapIndexes?: ReadonlyMap<string, ReadonlySet<number>>;
}

export interface Cleared {
  /** The DAG of the task instance: another DAG's when an ExternalTaskMarker led there. */
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  from: string;
}

const FAILED = new Set(["failed", "upstream_failed"]);

/**
 * Clears the task instances chosen, and, as Airflow's ExternalTaskMarker, for each marker cleared the
 * external DAG's task (with its downstream) in the run of the marker's logical date, recursively up to
 * the first marker's recursionDepth.
 */
export async function clearTaskInstances(database: Database, o: ClearOptions): Promise<Cleared[]> {
  return clearFollowingMarkers(database, o, { depth: 0, max: undefined });
}

async function clearFollowingMarkers(
  database: Database,
  o: ClearOptions,
  hop: { depth: number; max: number | undefined },
): Promise<Cleared[]> {
  const { dag, cleared, markers } = await clearOneDag(database, o);
  for (const m of markers) {
    const task = dag.tasks.find((t) => t.taskId === m.ti.task_id)!;
    const { externalDagId, externalTaskId, recursionDepth } = task.templateFields as {
      externalDagId: string;
      externalTaskId: string;
      recursionDepth: number;
    };
    const max = hop.max ?? recursionDepth;
    if (hop.depth + 1 > max)
      throw new InvalidInputError(
        `Maximum recursion depth ${max} reached for ExternalTaskMarker ${task.taskId} of dag "${dag.dagId}": ` +
          "it would clear too many tasks, or the markers form a cycle",
      );
    const run = await externalRun(database, dag, task, m, externalDagId);
    if (!run) continue;
    const more = await clearFollowingMarkers(
      database,
      {
        dagId: externalDagId,
        runId: run.run_id,
        taskRegex: exactly([externalTaskId]),
        downstream: true,
        onlyFailed: o.onlyFailed,
        dryRun: o.dryRun,
      },
      { depth: hop.depth + 1, max },
    );
    cleared.push(...more);
  }
  return cleared;
}

/** The external DAG's run with the marker's logical date (rendered when it ran, or rendered now). */
async function externalRun(
  database: Database,
  dag: SerializedDag,
  task: SerializedTask,
  m: { ti: TaskInstanceRow; run: DagRunRow },
  externalDagId: string,
): Promise<{ run_id: string } | undefined> {
  const rendered = m.ti.rendered_fields
    ? (JSON.parse(m.ti.rendered_fields) as { logicalDate?: unknown })
    : {};
  let logicalDate = typeof rendered.logicalDate === "string" ? rendered.logicalDate : undefined;
  if (logicalDate === undefined) {
    const context = buildContext(dag, task, m.run, m.ti, { variables: new Map(), connections: new Map() });
    const fields = renderFields(
      { logicalDate: task.templateFields.logicalDate },
      context,
      `task "${task.taskId}"`,
    );
    logicalDate = String(fields.logicalDate);
  }
  const at = new Date(logicalDate);
  if (Number.isNaN(at.getTime()))
    throw new InvalidInputError(
      `ExternalTaskMarker ${task.taskId} of dag "${dag.dagId}": its logicalDate "${logicalDate}" is not a date`,
    );
  return database.db
    .selectFrom("dag_run")
    .select("run_id")
    .where("dag_id", "=", externalDagId)
    .where("logical_date", "=", at.toISOString())
    .executeTakeFirst();
}

async function clearOneDag(database: Database, o: ClearOptions) {
  const dag = await dagStore(database).getSerialized(o.dagId);
  if (!dag) throw new NotFoundError(`dag "${o.dagId}" not found: see \`updraft dags list\``);
  const taskIds = selectTasks(dag, o);
  let runs = database.db.selectFrom("dag_run").selectAll().where("dag_id", "=", o.dagId);
  if (o.runId) runs = runs.where("run_id", "=", o.runId);
  if (o.startDate) runs = runs.where("logical_date", ">=", o.startDate);
  if (o.endDate) runs = runs.where("logical_date", "<=", o.endDate);
  const retries = new Map(dag.tasks.map((t) => [t.taskId, t.retries]));
  const tis = taskInstanceStore(database);
  const runStore = dagRunStore(database);
  const cleared: Cleared[] = [];
  const markers: { ti: TaskInstanceRow; run: DagRunRow }[] = [];
  const marker = new Set(dag.tasks.filter((t) => t.kind === "external_task_marker").map((t) => t.taskId));
  const now = nowIso();
  for (const run of await runs.execute()) {
    let touched = false;
    for (const ti of await tis.listByRun(run.id)) {
      const state = fromDb(ti.state);
      if (!taskIds.has(ti.task_id) || state === "none" || (o.onlyFailed && !FAILED.has(state))) continue;
      const indexes = o.mapIndexes?.get(ti.task_id);
      if (indexes && !indexes.has(ti.map_index)) continue;
      cleared.push({
        dagId: o.dagId,
        runId: run.run_id,
        taskId: ti.task_id,
        mapIndex: ti.map_index,
        from: state,
      });
      if (marker.has(ti.task_id)) markers.push({ ti, run });
      if (o.dryRun) continue;
      const to: TaskInstanceState = state === "running" ? "restarting" : "none";
      const key = { dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, mapIndex: ti.map_index };
      // A cleared task gets its retries again, counted from the tries it already made.
      const patch = {
        max_tries: ti.try_number + (retries.get(ti.task_id) ?? 0),
        end_date: null,
        next_retry_at: null,
        // A wait it was in ends with it (its trigger, no longer wanted, is removed by a triggerer).
        ...ENDED_WAIT,
        // A running try keeps its owner: it records its own stop (restarting -> none), fenced by it.
        ...(to === "restarting" ? {} : { claimed_by_job_id: null }),
      };
      if (await tis.transition(key, state, to, patch, now)) {
        await xcomStore(database).clear(run.id, ti.task_id, ti.map_index);
        touched = true;
      }
    }
    // Whatever state the run was in, it runs again (queued_at kept: Airflow's clear does not reset it).
    if (touched) await runStore.transition(run.id, RUN_STATES, "queued", { end_date: null }, now);
  }
  if (!o.dryRun && cleared.length > 0) await wakeSchedulers(database);
  return { dag, cleared, markers };
}

export interface CheckedClear extends ClearOptions {
  /** Only the task instances running now. */
  onlyRunning?: boolean;
  /** Refuse (CONFLICT) when any task instance to clear is running. */
  preventRunningTask?: boolean;
}

/**
 * Airflow's clearTaskInstances endpoint: what would be cleared is worked out first, so running task
 * instances can be refused (preventRunningTask) or chosen alone (onlyRunning), then cleared unless
 * this is a dry run. Returns what was (or would be) cleared.
 */
export async function clearChecked(database: Database, o: CheckedClear): Promise<Cleared[]> {
  const options = o.onlyRunning ? { ...o, onlyFailed: false } : o;
  let candidates = await clearTaskInstances(database, { ...options, dryRun: true });
  if (o.onlyRunning) candidates = candidates.filter((c) => c.from === "running");
  const running = candidates.filter((c) => c.from === "running");
  if (o.preventRunningTask && running.length > 0)
    throw new ConflictError(
      `Cannot clear task instances while some are running: ${running.map((c) => `${c.taskId} (run ${c.runId})`).join(", ")}; set prevent_running_task to false to clear them anyway`,
    );
  if (o.dryRun || candidates.length === 0) return candidates;
  if (!o.onlyRunning) {
    await clearTaskInstances(database, { ...options, dryRun: false });
    return candidates;
  }
  // Running instances of other DAGs (reached through markers) are cleared with their marker's clear.
  const byRun = Map.groupBy(
    candidates.filter((c) => c.dagId === o.dagId),
    (c) => c.runId,
  );
  for (const [runId, cs] of byRun)
    await clearTaskInstances(database, {
      dagId: o.dagId,
      runId,
      taskRegex: exactly(cs.map((c) => c.taskId)),
      mapIndexes: o.mapIndexes,
      onlyFailed: false,
    });
  return candidates;
}

/** Regular expression matching exactly these task ids. */
export const exactly = (ids: Iterable<string>) =>
  `^(?:${[...ids].map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})$`;

function selectTasks(dag: SerializedDag, o: ClearOptions): Set<string> {
  const pattern = o.taskRegex ? new RegExp(o.taskRegex) : null;
  const chosen = new Set(dag.tasks.filter((t) => !pattern || pattern.test(t.taskId)).map((t) => t.taskId));
  const extra = [
    ...(o.downstream ? reachable(chosen, downstreamOf(dag)) : []),
    ...(o.upstream ? reachable(chosen, upstreamOf(dag)) : []),
  ];
  for (const id of extra) chosen.add(id);
  // A cleared task's setups and their teardowns run again with it (Airflow).
  for (const id of relevantSetupsAndTeardowns(dag, chosen)) chosen.add(id);
  return chosen;
}
