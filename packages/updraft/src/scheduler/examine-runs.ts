/**
 * Moving runs along: queued runs start (within maxActiveRuns), retries whose delay passed are
 * scheduled again, trigger rules decide which task instances run or settle without running,
 * dagrunTimeout ends overdue runs, and a run whose task instances are all finished gets its state.
 * Each run is examined in its own transaction, its row locked (SKIP LOCKED) so schedulers share runs;
 * a deadlock or a lost connection rolls it back and it is examined again (the transaction is the unit).
 */
import { sql, type Transaction } from "kysely";
import { blockedByPast, dependsOnPrevious } from "../core/depends-on-past.ts";
import { downstreamOf, type SerializedDag } from "../core/serialized.ts";
import { isFinished, type TaskInstanceState } from "../core/states.ts";
import type { Logger } from "../logging.ts";
import type { Database } from "../storage/database.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import { retrying } from "../storage/retry.ts";
import type { DagRunRow, Tables, TaskInstanceRow } from "../storage/schema.ts";
import { startQueuedRuns } from "../storage/sql/start-queued-runs.ts";
import { fromDb, taskInstanceStore, type TaskInstanceKey } from "../storage/task-instances.ts";
import { decideRun } from "./decide.ts";
import { decideDownstream } from "./decide-downstream.ts";

/** The columns of a task instance that scheduling decisions read. */
type DecisionRow = Pick<
  TaskInstanceRow,
  "dag_id" | "run_id" | "task_id" | "map_index" | "state" | "next_retry_at"
>;

const UNSTARTED = new Set(["none", "scheduled", "queued", "up_for_retry"]);

export interface ExamineOptions {
  now: string;
  log: Logger;
  /** Stops a running task instance (dagrunTimeout). */
  cancel: (key: TaskInstanceKey) => boolean;
  /** Only these runs (after a task finished); default: every running run. */
  runIds?: number[];
  /**
   * Task instances that finished, by run id: those runs get the light examination (only what lies
   * downstream of them is decided) instead of the full one.
   */
  changed?: ReadonlyMap<number, readonly string[]>;
  /** The DAG of each changed run, when known: the runs are then not looked up first. */
  dagIds?: ReadonlyMap<number, string>;
}

export async function examineRuns(database: Database, o: ExamineOptions): Promise<void> {
  const only = o.changed ? [...o.changed.keys()] : o.runIds;
  if (!only) await startQueuedRuns(database, { now: o.now });
  let q = database.db
    .selectFrom("dag_run")
    .select(["id", "dag_id"])
    .where("state", "=", "running")
    .orderBy("last_scheduling_decision")
    .orderBy("id")
    .limit(200);
  if (only) q = q.where("id", "in", only.length ? only : [-1]);
  const dags = new Map<string, SerializedDag | undefined>();
  // After tasks finished, their runs are known: each is locked (and its state checked) by its own
  // examination, with no read before.
  const known = o.changed && o.dagIds && [...o.changed.keys()].every((id) => o.dagIds!.has(id));
  const runs = known
    ? [...o.changed!.keys()].map((id) => ({ id, dag_id: o.dagIds!.get(id)! }))
    : await q.execute();
  for (const { id, dag_id } of runs) {
    // Read outside the transaction: on SQLite the transaction holds the only connection.
    if (!dags.has(dag_id)) dags.set(dag_id, await recentDag(database, dag_id));
    const dag = dags.get(dag_id);
    if (!dag) continue;
    await retrying(() => examineOne(database, dag, id, o), { what: `examining run ${id}`, maxMs: 30_000 });
  }
}

const recentDags = new WeakMap<
  Database,
  Map<string, { at: number; dag: Promise<SerializedDag | undefined> }>
>();

/**
 * The DAG's latest version, read at most once a second: a light iteration runs once per batch of
 * finished tasks, and a new version is seen within a second (a task it adds or removes sends the run
 * to the full examination anyway).
 */
function recentDag(database: Database, dagId: string): Promise<SerializedDag | undefined> {
  let byDag = recentDags.get(database);
  if (!byDag) recentDags.set(database, (byDag = new Map()));
  const hit = byDag.get(dagId);
  const now = Date.now();
  if (hit && now - hit.at < 1000) return hit.dag;
  if (byDag.size > 1000) byDag.clear();
  const dag = dagStore(database).getSerialized(dagId);
  byDag.set(dagId, { at: now, dag });
  dag.catch(() => byDag.delete(dagId));
  return dag;
}

async function examineOne(database: Database, dag: SerializedDag, id: number, o: ExamineOptions) {
  await database.db.transaction().execute(async (trx) => {
    let lock = trx.selectFrom("dag_run").selectAll().where("id", "=", id).where("state", "=", "running");
    if (database.adapter.capabilities.supportsSkipLocked) lock = lock.forUpdate().skipLocked();
    const run = await lock.executeTakeFirst();
    if (!run) return;
    const changed = o.changed?.get(id);
    if (changed && !overdue(dag, run, o.now)) {
      const mayStart = await pastDependencies(database, trx, dag, run);
      const light = await decideDownstream({ ...database, db: trx }, trx, dag, run, changed, {
        now: o.now,
        mayStart,
      });
      if (light === "done") return;
    }
    if (!changed && (await untouched(trx, dag, run, o.now))) return;
    await examineRun({ ...database, db: trx }, trx, dag, run, o);
  });
}

async function examineRun(
  database: Database,
  trx: Transaction<Tables>,
  dag: SerializedDag,
  run: DagRunRow,
  o: ExamineOptions,
): Promise<void> {
  const tis = taskInstanceStore(database);
  // Only what the decisions need: this runs on every iteration for every running run.
  const rows = (await trx
    .selectFrom("task_instance")
    .select(["dag_id", "run_id", "task_id", "map_index", "state", "next_retry_at"])
    .where("dag_run_id", "=", run.id)
    .execute()) satisfies DecisionRow[];
  if (overdue(dag, run, o.now)) return timeOut(database, trx, run, rows, o);
  const states = new Map(rows.map((r) => [r.task_id, fromDb(r.state) as string]));
  for (const ti of rows) {
    if (ti.state === "up_for_retry" && (ti.next_retry_at === null || ti.next_retry_at <= o.now)) {
      if (await tis.transition(keyOf(ti), "up_for_retry", "scheduled", { scheduled_dttm: o.now }, o.now))
        states.set(ti.task_id, "scheduled");
    }
  }
  const past = await pastDependencies(database, trx, dag, run);
  const decision = decideRun(dag, states, (taskId) => past(taskId));
  for (const [taskId, state] of decision.settled) {
    if (
      await tis.transition(
        keyOf({ ...run, task_id: taskId, map_index: -1 }),
        "none",
        state,
        { end_date: o.now },
        o.now,
      )
    )
      states.set(taskId, state);
  }
  if (decision.ready.length > 0) {
    await tis.scheduleReady({ dagId: run.dag_id, runId: run.run_id }, decision.ready, o.now);
    // One another process moved first counts as scheduled here: scheduled is unfinished, so at worst
    // the run's outcome waits for its next examination.
    for (const taskId of decision.ready) states.set(taskId, "scheduled");
  }
  const finalState = runOutcome(dag, states);
  const update = finalState ? { end_date: o.now } : {};
  await dagRunStore({ ...database, db: trx }).transition(
    run.id,
    "running",
    finalState ?? "running",
    { ...update, last_scheduling_decision: o.now },
    o.now,
  );
  if (finalState) o.log.info({ dagId: run.dag_id, runId: run.run_id, state: finalState }, "run finished");
}

/**
 * Nothing to decide in a run when none of its task instances changed since its last decision, no
 * retry delay has passed and no timeout is due: one aggregate row instead of the whole run. Runs whose
 * tasks depend on the previous run are always examined (what they wait for is in another run).
 */
async function untouched(trx: Transaction<Tables>, dag: SerializedDag, run: DagRunRow, now: string) {
  if (run.last_scheduling_decision === null || dag.dagrunTimeout !== null) return false;
  if (dag.tasks.some((t) => t.dependsOnPast || t.waitForDownstream)) return false;
  const row = await trx
    .selectFrom("task_instance")
    .select((eb) => [
      eb.fn.max("updated_at").as("changed"),
      // A retry without a time is due now: '' sorts before any time.
      sql<string | null>`min(case when state = 'up_for_retry' then coalesce(next_retry_at, '') end)`.as(
        "retry_at",
      ),
    ])
    .where("dag_run_id", "=", run.id)
    .executeTakeFirst();
  if (!row) return false;
  const changed = row.changed as string | null;
  const retryAt = row.retry_at as string | null;
  // Strictly before: a change in the same millisecond as the decision is examined once more.
  return (changed === null || changed < run.last_scheduling_decision) && (retryAt === null || retryAt > now);
}

function overdue(dag: SerializedDag, run: DagRunRow, now: string): boolean {
  return (
    dag.dagrunTimeout !== null &&
    run.start_date !== null &&
    Date.parse(now) - Date.parse(run.start_date) > dag.dagrunTimeout * 1000
  );
}

/** Airflow: a finished run succeeded when every leaf succeeded or was skipped, else it failed. */
export function runOutcome(
  dag: SerializedDag,
  states: ReadonlyMap<string, string>,
): "success" | "failed" | null {
  if (![...states.values()].every((s) => isFinished(s as TaskInstanceState))) return null;
  const down = downstreamOf(dag);
  const leaves = dag.tasks.filter((t) => (down.get(t.taskId) ?? []).length === 0);
  return leaves.every((t) => ["success", "skipped"].includes(states.get(t.taskId) ?? "none"))
    ? "success"
    : "failed";
}

async function timeOut(
  database: Database,
  trx: Transaction<Tables>,
  run: DagRunRow,
  rows: DecisionRow[],
  o: ExamineOptions,
): Promise<void> {
  const tis = taskInstanceStore(database);
  for (const ti of rows) {
    const state = fromDb(ti.state);
    if (UNSTARTED.has(state)) await tis.transition(keyOf(ti), state, "skipped", { end_date: o.now }, o.now);
    else if (state === "running") o.cancel(keyOf(ti));
  }
  await dagRunStore({ ...database, db: trx }).transition(
    run.id,
    "running",
    "failed",
    { end_date: o.now, last_scheduling_decision: o.now },
    o.now,
  );
  o.log.warn(
    { dagId: run.dag_id, runId: run.run_id },
    "run exceeded its dagrunTimeout: failed, unfinished tasks skipped",
  );
}

/** dependsOnPast / waitForDownstream (core/depends-on-past.ts), against the run before this one. */
async function pastDependencies(
  database: Database,
  trx: Transaction<Tables>,
  dag: SerializedDag,
  run: DagRunRow,
): Promise<(taskId: string) => boolean> {
  if (!dag.tasks.some(dependsOnPrevious)) return () => true;
  const previous = await dagRunStore({ ...database, db: trx }).previous(run);
  if (!previous) return () => true;
  const prior = await trx
    .selectFrom("task_instance")
    .select(["task_id", "state"])
    .where("dag_run_id", "=", previous.id)
    .execute();
  const blocked = blockedByPast(dag, new Map(prior.map((p) => [p.task_id, p.state ?? "none"])));
  return (taskId: string) => !blocked.has(taskId);
}

function keyOf(ti: { dag_id: string; run_id: string; task_id: string; map_index: number }): TaskInstanceKey {
  return { dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, mapIndex: ti.map_index };
}
