/**
 * Why a task instance that has not started is not running yet (Airflow's failed scheduling
 * dependencies, by name): its state, its run, its DAG, its trigger rule, the previous run, its pool,
 * its DAG's running tasks. The trigger rule, depends-on-past and slot rules are the scheduler's own
 * (core/), so the answer cannot drift from what the scheduler does.
 */
import { dependsOnPrevious, pastBlocks } from "../core/depends-on-past.ts";
import { taskById, type SerializedDag, type SerializedTask } from "../core/serialized.ts";
import { ACTIVE_STATES, poolSlotStates } from "../core/states.ts";
import { countUpstream, evaluateRule } from "../core/trigger-rules.ts";
import type { Database } from "../storage/database.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import { poolStore } from "../storage/pools.ts";
import type { TiRow } from "../storage/task-instance-rows.ts";
import { fromDb } from "../storage/task-instances.ts";

export interface UnmetDependency {
  name: string;
  reason: string;
}

export async function explainDependencies(database: Database, ti: TiRow): Promise<UnmetDependency[]> {
  if (ti.state !== null && ti.state !== "scheduled") return [];
  const dag = await dagStore(database).getSerialized(ti.dag_id);
  const task = dag && taskById(dag, ti.task_id)?.task;
  if (!dag || !task) return [];
  const deps: UnmetDependency[] = [];
  if (ti.state === null)
    deps.push({
      name: "Task Instance State",
      reason:
        "Task is in the 'None' state which is not a valid state for execution. The scheduler schedules it once its dependencies are met.",
    });
  if (ti.run_state !== "running")
    deps.push({
      name: "Dagrun Running",
      reason: `Task instance's dagrun was not in the 'running' state but in the state '${ti.run_state}'.`,
    });
  const dagRow = await dagStore(database).get(ti.dag_id);
  if (dagRow?.is_paused)
    deps.push({ name: "Dag Not Paused", reason: `Task's DAG '${ti.dag_id}' is paused.` });
  deps.push(...(await triggerRule(database, ti, task)));
  deps.push(...(await previousRun(database, dag, ti, task)));
  deps.push(...(await poolSlots(database, ti)));
  if (dagRow) deps.push(...(await dagSlots(database, ti, dagRow.max_active_tasks)));
  return deps.sort((a, b) => a.name.localeCompare(b.name));
}

async function triggerRule(database: Database, ti: TiRow, task: SerializedTask): Promise<UnmetDependency[]> {
  if (task.upstream.length === 0) return [];
  const upstream = await database.db
    .selectFrom("task_instance")
    .select(["task_id", "state"])
    .where("dag_run_id", "=", ti.dag_run_id)
    .where("task_id", "in", task.upstream)
    .execute();
  const states = new Map(upstream.map((u) => [u.task_id, fromDb(u.state) as string]));
  const counts = countUpstream(task.upstream, states);
  if (evaluateRule(task.triggerRule, counts) === "run") return [];
  const summary = task.upstream.map((id) => `${id}=${states.get(id) ?? "none"}`).join(", ");
  return [
    {
      name: "Trigger Rule",
      reason: `Task's trigger rule '${task.triggerRule}' is not met by its upstream tasks: ${summary} (${counts.done} of ${counts.total} done, ${counts.success} succeeded, ${counts.failed + counts.upstreamFailed} failed, ${counts.skipped} skipped).`,
    },
  ];
}

/** depends_on_past / wait_for_downstream against the run the scheduler looks back at. */
async function previousRun(
  database: Database,
  dag: SerializedDag,
  ti: TiRow,
  task: SerializedTask,
): Promise<UnmetDependency[]> {
  if (!dependsOnPrevious(task)) return [];
  const previous = await dagRunStore(database).previous({
    dag_id: ti.dag_id,
    logical_date: ti.run_logical_date,
  });
  if (!previous) return [];
  const rows = await database.db
    .selectFrom("task_instance")
    .select(["task_id", "state"])
    .where("dag_run_id", "=", previous.id)
    .execute();
  const prior = new Map(rows.map((r) => [r.task_id, fromDb(r.state) as string]));
  const why = pastBlocks(dag, task, prior);
  if (why === null) return [];
  const own = rows.find((r) => r.task_id === ti.task_id)?.state ?? "None";
  return [
    {
      name: "Previous Dagrun State",
      reason:
        why === "previous_not_successful"
          ? `depends_on_past is true for this task, but the previous task instance is in the state '${own}' which is not a successful state.`
          : `wait_for_downstream is true for this task, but the downstream tasks of its previous task instance (run '${previous.run_id}') have not all finished.`,
    },
  ];
}

async function poolSlots(database: Database, ti: TiRow): Promise<UnmetDependency[]> {
  const pool = await poolStore(database).get(ti.pool);
  if (!pool)
    return [
      {
        name: "Pool Slots Available",
        reason: `Tasks using non-existent pool '${ti.pool}' will not be scheduled`,
      },
    ];
  if (pool.slots < 0) return [];
  const used = await database.db
    .selectFrom("task_instance")
    .select((eb) => eb.fn.sum<number>("pool_slots").as("n"))
    .where("pool", "=", ti.pool)
    .where("state", "in", poolSlotStates(pool.includeDeferred))
    .executeTakeFirst();
  const open = pool.slots - Number(used?.n ?? 0);
  if (open >= ti.pool_slots) return [];
  return [
    {
      name: "Pool Slots Available",
      reason: `Not scheduling since there are ${open} open slots in pool ${ti.pool} and require ${ti.pool_slots} pool slots`,
    },
  ];
}

async function dagSlots(database: Database, ti: TiRow, maxActiveTasks: number): Promise<UnmetDependency[]> {
  const running = await database.db
    .selectFrom("task_instance")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("dag_id", "=", ti.dag_id)
    .where("state", "in", ACTIVE_STATES)
    .executeTakeFirstOrThrow();
  if (Number(running.n) < maxActiveTasks) return [];
  return [
    {
      name: "Dag TI Slots Available",
      reason: `The maximum number of running tasks (${maxActiveTasks}) for this task's DAG '${ti.dag_id}' has been reached.`,
    },
  ];
}
