/**
 * Moving runs along: queued runs start (within maxActiveRuns), retries whose delay passed are
 * scheduled again, trigger rules decide which task instances run or settle without running,
 * dagrunTimeout ends overdue runs, and a run whose task instances are all finished gets its state.
 * Runs are examined a batch per transaction, their rows locked (SKIP LOCKED) so schedulers share runs;
 * a deadlock or a lost connection rolls the batch back and it is examined again (the transaction is the
 * unit); a batch that fails on one run's data is examined again a run per transaction.
 */
import { sql, type Transaction } from "kysely";
import { blockedByPast, dependsOnPrevious } from "../core/depends-on-past.ts";
import { DEFAULT_MAX_MAP_LENGTH, mappedGroupOf, mapSources, xcomRefOf } from "../core/mapping.ts";
import { taskById, type SerializedDag, type SerializedTask } from "../core/serialized.ts";
import { runStateLeaves } from "../core/setup-teardown.ts";
import { isFinished, type TaskInstanceState } from "../core/states.ts";
import type { Logger } from "../logging.ts";
import type { Database } from "../storage/database.ts";
import { requestRunEndCallback, type CallbackPayload } from "../storage/callbacks.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import { isTransientDbError, retrying } from "../storage/retry.ts";
import type { DagRunRow, Tables, TaskInstanceRow } from "../storage/schema.ts";
import { startQueuedRuns } from "../storage/sql/start-queued-runs.ts";
import { backfillStore } from "../storage/backfills.ts";
import type { ClaimedTaskInstance } from "../storage/sql/claim-task-instances.ts";
import { fromDb, taskInstanceStore, type TaskInstanceKey } from "../storage/task-instances.ts";
import { decideRun, statesOf, type RunStates } from "./decide.ts";
import { expandMapped } from "./expand-mapped.ts";
import { decideDownstream } from "./decide-downstream.ts";
import { resumeSameTry } from "../storage/waits.ts";

/** The columns of a task instance that scheduling decisions read. */
type DecisionRow = Pick<
  TaskInstanceRow,
  "dag_id" | "run_id" | "task_id" | "map_index" | "state" | "next_retry_at"
>;

const UNSTARTED = new Set(["none", "scheduled", "queued", "up_for_retry", "up_for_reschedule", "deferred"]);

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
  /**
   * Claims what became ready in the last run's transaction (one commit less per iteration); its
   * answer is returned. Not called when no run was examined: the caller claims on its own then.
   */
  alsoClaim?: (trx: Transaction<Tables>) => Promise<ClaimedTaskInstance[]>;
  /** `[core] max_map_length`: the most instances a mapped task may have (default 1024). */
  maxMapLength?: number;
  /**
   * Examine the runs even where nothing seems to have happened since their last decision: a try's
   * end stamped before a decision that did not see it would otherwise wait for the next change.
   */
  always?: boolean;
}

/** Examines the runs; returns what `alsoClaim` claimed, or undefined when it was not called. */
export async function examineRuns(
  database: Database,
  o: ExamineOptions,
): Promise<ClaimedTaskInstance[] | undefined> {
  const only = o.changed ? [...o.changed.keys()] : o.runIds;
  if (!only) {
    await startQueuedRuns(database, { now: o.now });
    // A backfill none of whose runs is left to do is complete (Airflow's _mark_backfills_complete).
    await backfillStore(database).completeFinished(o.now);
  }
  let q = database.db
    .selectFrom("dag_run")
    .select(["id", "dag_id", "last_scheduling_decision"])
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
    ? [...o.changed!.keys()].map((id) => ({ id, dag_id: o.dagIds!.get(id)!, last_scheduling_decision: null }))
    : await q.execute();
  // Read outside the transactions: on SQLite a transaction holds the only connection.
  for (const { dag_id } of runs) if (!dags.has(dag_id)) dags.set(dag_id, await recentDag(database, dag_id));
  const examined = runs.filter((r) => dags.get(r.dag_id));
  if (o.changed) {
    if (examined.length === 0) return undefined;
    // The runs whose tasks finished, and the claim of what became ready, in one transaction.
    let claimed: ClaimedTaskInstance[] | undefined;
    await retrying(
      () =>
        database.db.transaction().execute(async (trx) => {
          const locked = await lockRuns(database, trx, examined);
          for (const { id, dag_id } of examined) {
            const run = locked.get(id);
            if (run) await examineOne(database, trx, dags.get(dag_id)!, run, o);
          }
          claimed = o.alsoClaim ? await o.alsoClaim(trx) : undefined;
        }),
      { what: `examining runs ${examined.map((r) => r.id).join(", ")}`, maxMs: 30_000 },
    );
    return claimed;
  }
  // A full examination skips, in one read, the runs where nothing happened since their last decision.
  const touched = o.always ? examined : await touchedRuns(database, examined, dags, o.now);
  for (let i = 0; i < touched.length; i += FULL_BATCH)
    await examineBatch(database, touched.slice(i, i + FULL_BATCH), dags, o);
  return undefined;
}

/**
 * The runs with something to decide: a task instance changed since the run's last decision, a retry
 * delay passed, or the run is one that is always examined (a first decision, a dagrunTimeout, tasks
 * that depend on the previous run). One aggregate read per 500 runs instead of one per run.
 */
async function touchedRuns<R extends { id: number; dag_id: string; last_scheduling_decision: string | null }>(
  database: Database,
  runs: R[],
  dags: ReadonlyMap<string, SerializedDag | undefined>,
  now: string,
): Promise<R[]> {
  const always = (r: R) => {
    const dag = dags.get(r.dag_id)!;
    return (
      r.last_scheduling_decision === null ||
      dag.dagrunTimeout !== null ||
      dag.tasks.some((t) => t.dependsOnPast || t.waitForDownstream)
    );
  };
  const checked = runs.filter((r) => !always(r));
  const activity = new Map<number, { changed: string | null; retryAt: string | null }>();
  for (let i = 0; i < checked.length; i += 500) {
    const rows = await database.db
      .selectFrom("task_instance")
      .select((eb) => [
        "dag_run_id",
        eb.fn.max("updated_at").as("changed"),
        // A retry without a time is due now: '' sorts before any time.
        sql<
          string | null
        >`min(case when state in ('up_for_retry', 'up_for_reschedule') then coalesce(next_retry_at, '') end)`.as(
          "retry_at",
        ),
      ])
      .where(
        "dag_run_id",
        "in",
        checked.slice(i, i + 500).map((r) => r.id),
      )
      .groupBy("dag_run_id")
      .execute();
    for (const r of rows)
      activity.set(r.dag_run_id, {
        changed: r.changed as string | null,
        retryAt: r.retry_at as string | null,
      });
  }
  return runs.filter((r) => {
    if (always(r)) return true;
    const a = activity.get(r.id);
    if (!a) return true; // no task instances: the full examination sorts it out
    // Strictly before: a change in the same millisecond as the decision is examined once more.
    const quiet = a.changed === null || a.changed < r.last_scheduling_decision!;
    return !quiet || (a.retryAt !== null && a.retryAt <= now);
  });
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

/** Runs examined together in one transaction by a full examination. */
const FULL_BATCH = 50;

/**
 * Full examinations of a batch of runs in one transaction: their rows locked in one statement and
 * their task instances read in one. Should the batch fail on its own data (not a lost connection or
 * a deadlock, which `retrying` runs again), each run is examined in a transaction of its own: a
 * faulty run is logged and the others go on (it would otherwise hold back every run after it).
 */
async function examineBatch(
  database: Database,
  runs: { id: number; dag_id: string }[],
  dags: ReadonlyMap<string, SerializedDag | undefined>,
  o: ExamineOptions,
): Promise<void> {
  const examine = (batch: typeof runs) =>
    retrying(
      () =>
        database.db.transaction().execute(async (trx) => {
          const locked = await lockRuns(database, trx, batch);
          const rows = await decisionRows(trx, [...locked.keys()]);
          for (const { id, dag_id } of batch) {
            const run = locked.get(id);
            if (run) await examineOne(database, trx, dags.get(dag_id)!, run, o, rows.get(id) ?? []);
          }
        }),
      { what: `examining runs ${batch.map((r) => r.id).join(", ")}`, maxMs: 30_000 },
    );
  try {
    await examine(runs);
  } catch (error) {
    if (isTransientDbError(error)) throw error;
    // One run's fault: the others are examined all the same, and the faulty one is named.
    for (const run of runs)
      await examine([run]).catch((fault: unknown) => {
        if (isTransientDbError(fault)) throw fault;
        o.log.error(
          { err: fault, dagId: run.dag_id, dagRunId: run.id },
          "examining a run failed; the other runs carry on, and it is examined again next iteration",
        );
      });
  }
}

/** The runs' rows, still running, locked for this transaction (SKIP LOCKED: another scheduler's are left). */
async function lockRuns(
  database: Database,
  trx: Transaction<Tables>,
  runs: readonly { id: number }[],
): Promise<Map<number, DagRunRow>> {
  if (runs.length === 0) return new Map();
  let lock = trx
    .selectFrom("dag_run")
    .selectAll()
    .where(
      "id",
      "in",
      runs.map((r) => r.id),
    )
    .where("state", "=", "running")
    .orderBy("id");
  if (database.adapter.capabilities.supportsSkipLocked) lock = lock.forUpdate().skipLocked();
  return new Map((await lock.execute()).map((run) => [run.id, run]));
}

/** What the decisions read of the runs' task instances, by run, in one read. */
async function decisionRows(
  trx: Transaction<Tables>,
  runIds: readonly number[],
): Promise<Map<number, DecisionRow[]>> {
  if (runIds.length === 0) return new Map();
  const rows = await trx
    .selectFrom("task_instance")
    .select(["dag_run_id", "dag_id", "run_id", "task_id", "map_index", "state", "next_retry_at"])
    .where("dag_run_id", "in", [...runIds])
    .execute();
  const byRun = new Map<number, DecisionRow[]>();
  for (const { dag_run_id, ...row } of rows) {
    const list = byRun.get(dag_run_id);
    if (list) list.push(row);
    else byRun.set(dag_run_id, [row]);
  }
  return byRun;
}

async function examineOne(
  database: Database,
  trx: Transaction<Tables>,
  dag: SerializedDag,
  run: DagRunRow,
  o: ExamineOptions,
  rows?: DecisionRow[],
): Promise<void> {
  const changed = o.changed?.get(run.id);
  if (changed && !overdue(dag, run, o.now)) {
    const mayStart = await pastDependencies(database, trx, dag, run);
    const light = await decideDownstream({ ...database, db: trx }, trx, dag, run, changed, {
      now: o.now,
      mayStart,
    });
    if (light === "done") return;
  }
  await examineRun({ ...database, db: trx }, trx, dag, run, o, rows);
}

async function examineRun(
  database: Database,
  trx: Transaction<Tables>,
  dag: SerializedDag,
  run: DagRunRow,
  o: ExamineOptions,
  given?: DecisionRow[],
): Promise<void> {
  const tis = taskInstanceStore(database);
  // Only what the decisions need: this runs on every iteration for every running run.
  const rows =
    given ??
    ((await trx
      .selectFrom("task_instance")
      .select(["dag_id", "run_id", "task_id", "map_index", "state", "next_retry_at"])
      .where("dag_run_id", "=", run.id)
      .execute()) satisfies DecisionRow[]);
  if (overdue(dag, run, o.now)) {
    await timeOut(database, trx, dag, run, rows, o);
    return pauseAfterFailures(trx, dag, o);
  }
  // Each task's instances (one, unless mapped), kept up to date as this examination moves them.
  const instances = new Map<string, { map_index: number; state: string | null }[]>();
  for (const ti of rows) {
    const list = instances.get(ti.task_id);
    const own = { map_index: ti.map_index, state: ti.state };
    if (list) list.push(own);
    else instances.set(ti.task_id, [own]);
    if (ti.state === "up_for_retry" && (ti.next_retry_at === null || ti.next_retry_at <= o.now)) {
      if (await tis.transition(keyOf(ti), "up_for_retry", "scheduled", { scheduled_dttm: o.now }, o.now))
        own.state = "scheduled";
    }
    // A reschedule-mode sensor whose next check is due: the same try goes on.
    if (ti.state === "up_for_reschedule" && (ti.next_retry_at === null || ti.next_retry_at <= o.now)) {
      if (await tis.transition(keyOf(ti), "up_for_reschedule", "scheduled", resumeSameTry(o.now), o.now))
        own.state = "scheduled";
    }
  }
  const statesOf = () =>
    new Map([...instances].map(([taskId, list]) => [taskId, list.map((i) => fromDb(i.state) as string)]));
  const expansion = { now: o.now, maxMapLength: o.maxMapLength ?? DEFAULT_MAX_MAP_LENGTH, log: o.log };
  await expandGroups(database, trx, dag, run, instances, statesOf(), expansion);
  const past = await pastDependencies(database, trx, dag, run);
  const decision = decideRun(dag, statesOf(), (taskId) => past(taskId), indexedOf(dag, instances));
  for (const { taskId, mapIndex, to } of decision.instances) {
    const key = keyOf({ ...run, task_id: taskId, map_index: mapIndex });
    const patch = to === "scheduled" ? { scheduled_dttm: o.now } : { end_date: o.now };
    if (!(await tis.transition(key, "none", to, patch, o.now))) continue;
    const ti = instances.get(taskId)?.find((i) => i.map_index === mapIndex);
    if (ti) ti.state = to;
  }
  for (const [taskId, state] of decision.settled) {
    for (const ti of instances.get(taskId) ?? [{ map_index: -1, state: null }]) {
      if (ti.state !== null) continue;
      const key = keyOf({ ...run, task_id: taskId, map_index: ti.map_index });
      if (await tis.transition(key, "none", state, { end_date: o.now }, o.now)) ti.state = state;
    }
  }
  const plain = decision.ready.filter((taskId) => !taskById(dag, taskId)?.task.expand);
  if (plain.length > 0) {
    await tis.scheduleReady({ dagId: run.dag_id, runId: run.run_id }, plain, o.now);
    // One another process moved first counts as scheduled here: scheduled is unfinished, so at worst
    // the run's outcome waits for its next examination.
    for (const taskId of plain) for (const ti of instances.get(taskId) ?? []) ti.state = "scheduled";
  }
  for (const taskId of decision.ready.filter((id) => !plain.includes(id))) {
    const task = taskById(dag, taskId)!.task;
    instances.set(
      taskId,
      await expandMapped(database, trx, dag, run, task, instances.get(taskId) ?? [], expansion),
    );
  }
  const states = statesOf();
  const outcome = runOutcome(dag, states);
  // Marked by hand while its teardowns had to run: now they are done, it ends as it was marked.
  const finalState = outcome && ((run.marked_state as "success" | "failed" | null) ?? outcome);
  const update = finalState ? { end_date: o.now } : {};
  const moved = await dagRunStore({ ...database, db: trx }).transition(
    run.id,
    "running",
    finalState ?? "running",
    { ...update, last_scheduling_decision: o.now },
    o.now,
  );
  if (!finalState || !moved) return;
  o.log.info({ dagId: run.dag_id, runId: run.run_id, state: finalState }, "run finished");
  // The DAG's callback for the end, requested in the transaction that ended the run (the triggerer runs it).
  await requestRunEndCallback(
    database,
    trx,
    dag,
    run,
    finalState,
    runEndPayload(finalState, instances, dag),
    o.now,
  );
  if (finalState === "failed") await pauseAfterFailures(trx, dag, o);
}

/** Airflow's reason for a run's end, and for a failure the first failed task instance (the context's ti). */
function runEndPayload(
  state: "success" | "failed",
  instances: Instances,
  dag: SerializedDag,
): CallbackPayload {
  if (state === "success") return { reason: "success" };
  for (const task of dag.tasks)
    for (const ti of instances.get(task.taskId) ?? [])
      if (ti.state === "failed")
        return { reason: "task_failure", taskId: task.taskId, mapIndex: ti.map_index };
  return { reason: "task_failure" };
}

type Instances = Map<string, { map_index: number; state: string | null }[]>;

/**
 * The tasks of mapped task groups, found once per serialized DAG (the store hands out one object
 * per DAG hash), so DAGs without any pay nothing per examination.
 */
const groupMapped = new WeakMap<SerializedDag, SerializedTask[]>();
function groupMappedTasks(dag: SerializedDag): SerializedTask[] {
  let tasks = groupMapped.get(dag);
  if (!tasks) groupMapped.set(dag, (tasks = dag.tasks.filter((t) => mappedGroupOf(t) !== undefined)));
  return tasks;
}

/**
 * Tasks of mapped task groups are expanded as soon as their group's list is known (its producers
 * succeeded), unstarted: each instance is then decided by its own upstream (decide.ts).
 */
async function expandGroups(
  database: Database,
  trx: Transaction<Tables>,
  dag: SerializedDag,
  run: DagRunRow,
  instances: Instances,
  states: ReadonlyMap<string, readonly string[]>,
  o: { now: string; maxMapLength: number; log: Logger },
): Promise<void> {
  for (const task of groupMappedTasks(dag)) {
    const list = instances.get(task.taskId) ?? [];
    if (list.length !== 1 || list[0]!.map_index !== -1 || list[0]!.state !== null) continue;
    const producers = mapSources(task.expand!).flatMap((s) => xcomRefOf(s.source)?.taskId ?? []);
    if (!producers.every((id) => (states.get(id) ?? []).every((s) => s === "success"))) continue;
    instances.set(
      task.taskId,
      await expandMapped(database, trx, dag, run, task, list, { ...o, initial: "none" }),
    );
  }
}

/** The instances of tasks of mapped task groups, by map index. */
function indexedOf(dag: SerializedDag, instances: Instances): Map<string, Map<number, string>> {
  const out = new Map<string, Map<number, string>>();
  for (const task of groupMappedTasks(dag)) {
    const list = instances.get(task.taskId) ?? [];
    out.set(task.taskId, new Map(list.map((i) => [i.map_index, fromDb(i.state) as string])));
  }
  return out;
}

/**
 * maxConsecutiveFailedDagRuns (Airflow's max_consecutive_failed_dag_runs): once the DAG's latest runs
 * are that many failures in a row, it is paused, in the transaction that failed the last of them.
 */
async function pauseAfterFailures(trx: Transaction<Tables>, dag: SerializedDag, o: ExamineOptions) {
  const limit = dag.maxConsecutiveFailedDagRuns;
  if (limit <= 0) return;
  const latest = await trx
    .selectFrom("dag_run")
    .select("state")
    .where("dag_id", "=", dag.dagId)
    .orderBy("run_after", "desc")
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  if (latest.length < limit || latest.some((r) => r.state !== "failed")) return;
  const paused = await trx
    .updateTable("dag")
    .set({ is_paused: 1 })
    .where("dag_id", "=", dag.dagId)
    .where("is_paused", "=", 0)
    .executeTakeFirst();
  if (Number(paused.numUpdatedRows) > 0)
    o.log.warn(
      { dagId: dag.dagId, failedRuns: limit },
      `dag paused: its latest ${limit} runs failed in a row (maxConsecutiveFailedDagRuns); unpause it once fixed`,
    );
}

function overdue(dag: SerializedDag, run: DagRunRow, now: string): boolean {
  return (
    dag.dagrunTimeout !== null &&
    run.start_date !== null &&
    Date.parse(now) - Date.parse(run.start_date) > dag.dagrunTimeout * 1000
  );
}

/**
 * Airflow: a finished run succeeded when every leaf succeeded or was skipped, else it failed. The
 * leaves are those that decide the run's state: teardowns are left out (core/setup-teardown.ts).
 */
export function runOutcome(dag: SerializedDag, states: RunStates): "success" | "failed" | null {
  for (const taskStates of states.values())
    for (const s of typeof taskStates === "string" ? [taskStates] : taskStates)
      if (!isFinished(s as TaskInstanceState)) return null;
  // Every instance of a mapped leaf counts (a removed one, past a shorter list, does not).
  const ok = (s: string) => s === "success" || s === "skipped" || s === "removed";
  return runStateLeaves(dag).every((id) => statesOf(states, id).every(ok)) ? "success" : "failed";
}

async function timeOut(
  database: Database,
  trx: Transaction<Tables>,
  dag: SerializedDag,
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
  const moved = await dagRunStore({ ...database, db: trx }).transition(
    run.id,
    "running",
    "failed",
    { end_date: o.now, last_scheduling_decision: o.now },
    o.now,
  );
  if (moved) await requestRunEndCallback(database, trx, dag, run, "failed", { reason: "timed_out" }, o.now);
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
