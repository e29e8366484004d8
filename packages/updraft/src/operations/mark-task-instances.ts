/**
 * Marking task instances by hand (Airflow's "mark success / failed / skipped" and the note on them):
 * the named task instance and, on request, its upstream/downstream tasks and the same tasks in
 * earlier/later runs, each moved by the state machine. Every move is checked first: one illegal move
 * and nothing changes. The moves are made in one transaction, each guarded by the state read.
 */
import { ConflictError, InvalidInputError, NotFoundError } from "../core/errors.ts";
import { allDownstream, allUpstream } from "../core/graph.ts";
import { taskById, type SerializedDag } from "../core/serialized.ts";
import { assertTransition, IllegalTransitionError, type TaskInstanceState } from "../core/states.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { dagStore } from "../storage/dags.ts";
import { findTi, tiNotFound, tiQuery, type TiRow } from "../storage/task-instance-rows.ts";
import { fromDb, taskInstanceStore } from "../storage/task-instances.ts";

/** The states a user may mark a task instance with. */
export const MARKABLE_STATES: readonly TaskInstanceState[] = ["success", "failed", "skipped"];

export interface MarkTaskInstances {
  dagId: string;
  runId: string;
  taskId: string;
  /** null: every map index of the task. */
  mapIndex: number | null;
  /** The new state (one of MARKABLE_STATES), when the state changes. */
  newState?: TaskInstanceState;
  /** The note, when it changes (null removes it). */
  note?: { text: string | null };
  includeUpstream?: boolean;
  includeDownstream?: boolean;
  includePast?: boolean;
  includeFuture?: boolean;
  dryRun: boolean;
  now?: string;
}

export interface MarkResult {
  /** The task instances the request names, as they are now (as they were, in a dry run). */
  targets: TiRow[];
  /** Those whose state the request changes (or would, in a dry run). */
  affected: TiRow[];
}

export async function markTaskInstances(database: Database, m: MarkTaskInstances): Promise<MarkResult> {
  const dag = await dagStore(database).getSerialized(m.dagId);
  if (!dag) throw new NotFoundError(`The Dag with ID: \`${m.dagId}\` was not found`);
  if (!taskById(dag, m.taskId)) throw new NotFoundError(`Task '${m.taskId}' not found in DAG '${m.dagId}'`);
  const targets = await namedTis(database, m);
  const now = m.now ?? nowIso();
  let affected: TiRow[] = [];
  if (m.newState !== undefined) {
    const to = m.newState;
    if (!MARKABLE_STATES.includes(to))
      throw new InvalidInputError(`'${to}' is not one of ['success', 'failed', 'skipped']`);
    affected = (await relatives(database, dag, targets, m)).filter((ti) => ti.state !== to);
    if (affected.length === 0 && !m.dryRun)
      throw new ConflictError(`Task id ${m.taskId} is already in ${to} state`);
    checkMoves(affected, to, m.dryRun);
    if (!m.dryRun) await markStates(database, affected, to, now);
  }
  if (m.note && !m.dryRun) {
    const tis = taskInstanceStore(database);
    for (const ti of targets) await tis.setNote(keyOf(ti), m.note.text, now);
  }
  return { targets: m.dryRun ? targets : await fresh(database, targets), affected };
}

async function namedTis(database: Database, m: MarkTaskInstances): Promise<TiRow[]> {
  let q = tiQuery(database)
    .where("ti.dag_id", "=", m.dagId)
    .where("ti.run_id", "=", m.runId)
    .where("ti.task_id", "=", m.taskId)
    .orderBy("ti.map_index");
  if (m.mapIndex !== null) q = q.where("ti.map_index", "=", m.mapIndex);
  const targets = (await q.execute()) as TiRow[];
  if (targets.length === 0)
    throw new NotFoundError(
      tiNotFound({ dagId: m.dagId, runId: m.runId, taskId: m.taskId, mapIndex: m.mapIndex ?? -1 }),
    );
  return targets;
}

/** Every move is checked before any is made, so an illegal one leaves everything as it was. */
function checkMoves(affected: TiRow[], to: TaskInstanceState, dryRun: boolean): void {
  for (const ti of affected) {
    try {
      assertTransition(
        fromDb(ti.state),
        to,
        { dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id },
        "user",
      );
    } catch (error) {
      if (!(error instanceof IllegalTransitionError)) throw error;
      const detail = `${error.message}: clear it first (POST /api/v2/dags/${ti.dag_id}/clearTaskInstances), then mark it once it runs`;
      // Airflow answers a dry run's refusal with 400, a real one's with 409.
      throw dryRun ? new InvalidInputError(detail) : new ConflictError(detail);
    }
  }
}

/** The task instances a mark applies to: the targets, plus relatives in this run and others. */
async function relatives(
  database: Database,
  dag: SerializedDag,
  targets: TiRow[],
  m: MarkTaskInstances,
): Promise<TiRow[]> {
  const taskIds = new Set([m.taskId]);
  if (m.includeUpstream) for (const id of allUpstream(dag, m.taskId)) taskIds.add(id);
  if (m.includeDownstream) for (const id of allDownstream(dag, m.taskId)) taskIds.add(id);
  const runIds = new Set([m.runId]);
  const logicalDate = targets[0]!.run_logical_date;
  if ((m.includePast || m.includeFuture) && logicalDate) {
    let runs = database.db.selectFrom("dag_run").select("run_id").where("dag_id", "=", m.dagId);
    if (!m.includePast) runs = runs.where("logical_date", ">=", logicalDate);
    if (!m.includeFuture) runs = runs.where("logical_date", "<=", logicalDate);
    for (const r of await runs.execute()) runIds.add(r.run_id);
  }
  const rows = (await tiQuery(database)
    .where("ti.dag_id", "=", m.dagId)
    .where("ti.run_id", "in", [...runIds])
    .where("ti.task_id", "in", [...taskIds])
    .orderBy("dr.run_after")
    .orderBy("ti.task_id")
    .orderBy("ti.map_index")
    .execute()) as TiRow[];
  // The named task in the named run keeps to the requested map index.
  return rows.filter(
    (ti) =>
      !(ti.run_id === m.runId && ti.task_id === m.taskId) ||
      m.mapIndex === null ||
      ti.map_index === m.mapIndex,
  );
}

/** Moves each task instance to `to` through the state machine, in one transaction. */
async function markStates(database: Database, tis: TiRow[], to: TaskInstanceState, now: string) {
  await database.db.transaction().execute(async (trx) => {
    const store = taskInstanceStore({ ...database, db: trx });
    for (const ti of tis) {
      const start = ti.start_date ?? now;
      const moved = await store.transition(
        keyOf(ti),
        fromDb(ti.state),
        to,
        { start_date: start, end_date: now, duration: (Date.parse(now) - Date.parse(start)) / 1000 },
        now,
        "user",
      );
      if (!moved)
        throw new ConflictError(
          `Task instance ${ti.dag_id}.${ti.task_id} of run "${ti.run_id}" changed state while it was being marked: look at it again and retry`,
        );
    }
  });
}

const keyOf = (ti: TiRow) => ({
  dagId: ti.dag_id,
  runId: ti.run_id,
  taskId: ti.task_id,
  mapIndex: ti.map_index,
});

async function fresh(database: Database, rows: TiRow[]): Promise<TiRow[]> {
  const found = await Promise.all(rows.map((t) => findTi(database, keyOf(t))));
  return found.filter((t): t is TiRow => t !== undefined);
}
