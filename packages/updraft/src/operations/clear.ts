/**
 * Clearing task instances so they run again (Airflow's "clear"): finished ones go back to no state
 * with fresh retries, running ones are marked restarting (their scheduler stops them, then they run
 * again), their XComs go, and their runs are queued again.
 */
import { ConflictError, NotFoundError } from "../core/errors.ts";
import { reachable, upstreamOf } from "../core/graph.ts";
import { relevantSetupsAndTeardowns } from "../core/setup-teardown.ts";
import { downstreamOf, type SerializedDag } from "../core/serialized.ts";
import { RUN_STATES, type TaskInstanceState } from "../core/states.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import { ENDED_WAIT, fromDb, taskInstanceStore } from "../storage/task-instances.ts";
import { wakeSchedulers } from "../storage/wakeups.ts";
import { xcomStore } from "../storage/xcom.ts";

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
  runId: string;
  taskId: string;
  mapIndex: number;
  from: string;
}

const FAILED = new Set(["failed", "upstream_failed"]);

export async function clearTaskInstances(database: Database, o: ClearOptions): Promise<Cleared[]> {
  const dag = await dagStore(database).getSerialized(o.dagId);
  if (!dag) throw new NotFoundError(`dag "${o.dagId}" not found: see \`updraft dags list\``);
  const taskIds = selectTasks(dag, o);
  let runs = database.db.selectFrom("dag_run").select(["id", "run_id"]).where("dag_id", "=", o.dagId);
  if (o.runId) runs = runs.where("run_id", "=", o.runId);
  if (o.startDate) runs = runs.where("logical_date", ">=", o.startDate);
  if (o.endDate) runs = runs.where("logical_date", "<=", o.endDate);
  const retries = new Map(dag.tasks.map((t) => [t.taskId, t.retries]));
  const tis = taskInstanceStore(database);
  const runStore = dagRunStore(database);
  const cleared: Cleared[] = [];
  const now = nowIso();
  for (const run of await runs.execute()) {
    let touched = false;
    for (const ti of await tis.listByRun(run.id)) {
      const state = fromDb(ti.state);
      if (!taskIds.has(ti.task_id) || state === "none" || (o.onlyFailed && !FAILED.has(state))) continue;
      const indexes = o.mapIndexes?.get(ti.task_id);
      if (indexes && !indexes.has(ti.map_index)) continue;
      cleared.push({ runId: run.run_id, taskId: ti.task_id, mapIndex: ti.map_index, from: state });
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
  return cleared;
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
  const byRun = Map.groupBy(candidates, (c) => c.runId);
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
