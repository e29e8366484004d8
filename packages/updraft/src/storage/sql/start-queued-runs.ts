/**
 * Starting queued DAG runs within each DAG's maxActiveRuns, oldest first. The cap is enforced in the
 * transaction that takes the slot: the DAG rows are locked first (in dag_id order, SKIP LOCKED), the
 * running runs counted after the lock, and at most the free number started. A second scheduler either
 * skips a DAG another is starting (it is locked) or counts after that one committed, so N schedulers
 * never start more than maxActiveRuns (see ../ADR.md S8). SQLite has one writer: its transaction is
 * enough there, and a stale snapshot fails with SQLITE_BUSY and is retried.
 *
 * A backfill's runs (dag_run.backfill_id) do not count against their DAG's maxActiveRuns: they start
 * within the backfill's own max_active_runs (its row locked the same way), oldest logical date first
 * (newest when it runs backwards), and not while the backfill is paused (Airflow 3's backfills).
 */
import { sql, type Transaction } from "kysely";
import type { Database } from "../database.ts";
import { retrying } from "../retry.ts";
import type { Tables } from "../schema.ts";

/** The runs that hold one of a DAG's maxActiveRuns slots. */
export const RUN_SLOT_STATES = ["running"] as const;
/**
 * The runs that stop the scheduler from creating another scheduled run (Airflow: queued or running;
 * queued runs created by hand or by a backfill wait here too).
 */
export const ACTIVE_RUN_STATES = ["queued", "running"] as const;

export interface StartedRun {
  id: number;
  dagId: string;
}

/** DAGs looked at per call; the rest wait for the next iteration. */
const DAGS_PER_CALL = 200;

export async function startQueuedRuns(database: Database, o: { now: string }): Promise<StartedRun[]> {
  // Outside the transaction, without locks: only which DAGs to look at (most iterations: none).
  const dagIds = await dagsWithQueuedRuns(database);
  if (dagIds.length === 0) return [];
  return retrying(
    () => database.db.transaction().execute((trx) => startWithinCaps(trx, database, dagIds, o.now)),
    { what: "starting queued runs", maxMs: 30_000 },
  );
}

async function dagsWithQueuedRuns(database: Database): Promise<string[]> {
  const rows = await database.db
    .selectFrom("dag_run")
    .select("dag_id")
    .distinct()
    .where("state", "=", "queued")
    .orderBy("dag_id")
    .limit(DAGS_PER_CALL)
    .execute();
  return rows.map((r) => r.dag_id);
}

async function startWithinCaps(
  trx: Transaction<Tables>,
  database: Database,
  dagIds: string[],
  now: string,
): Promise<StartedRun[]> {
  const caps = await lockDags(trx, database, dagIds);
  if (caps.size === 0) return [];
  const running = await countRuns(trx, [...caps.keys()], RUN_SLOT_STATES);
  const free = new Map<string, number>();
  for (const [dagId, max] of caps) {
    const n = max - (running.get(dagId) ?? 0);
    if (n > 0) free.set(dagId, n);
  }
  const chosen = [
    ...(free.size > 0 ? await oldestQueued(trx, free) : []),
    ...(await backfillRunsToStart(trx, database, [...caps.keys()])),
  ];
  if (chosen.length === 0) return [];
  await trx
    .updateTable("dag_run")
    .set({ state: "running", start_date: now, updated_at: now })
    .where(
      "id",
      "in",
      chosen.map((r) => r.id),
    )
    .where("state", "=", "queued")
    .execute();
  return chosen;
}

/**
 * Locks the unpaused DAG rows (a paused DAG's runs wait in the queue, as in Airflow) in primary-key
 * order, skipping those another transaction holds: that one is starting or creating their runs now.
 */
async function lockDags(
  trx: Transaction<Tables>,
  database: Database,
  dagIds: string[],
): Promise<Map<string, number>> {
  let q = trx
    .selectFrom("dag")
    .select(["dag_id", "max_active_runs"])
    .where("dag_id", "in", dagIds)
    .where("is_paused", "=", 0)
    .orderBy("dag_id");
  if (database.adapter.capabilities.supportsSkipLocked) q = q.forUpdate().skipLocked();
  const rows = await q.execute();
  return new Map(rows.map((r) => [r.dag_id, r.max_active_runs]));
}

/**
 * Runs per DAG in the given states that count against its maxActiveRuns (a backfill's do not); read
 * under the DAG locks, it is exact until they are released.
 */
export async function countRuns(
  trx: Transaction<Tables>,
  dagIds: string[],
  states: readonly string[],
): Promise<Map<string, number>> {
  if (dagIds.length === 0) return new Map();
  const rows = await trx
    .selectFrom("dag_run")
    .select(["dag_id", sql<number | string>`count(*)`.as("n")])
    .where("state", "in", [...states])
    .where("dag_id", "in", dagIds)
    .where("backfill_id", "is", null)
    .groupBy("dag_id")
    .execute();
  return new Map(rows.map((r) => [r.dag_id, Number(r.n)]));
}

/** Each DAG's oldest queued runs, at most its free count (one DAG's backlog cannot hide another's). */
async function oldestQueued(trx: Transaction<Tables>, free: Map<string, number>): Promise<StartedRun[]> {
  const most = Math.max(...free.values());
  const ranked = trx
    .selectFrom("dag_run")
    .select([
      "id",
      "dag_id",
      sql<number>`row_number() over (partition by dag_id order by run_after, id)`.as("rank"),
    ])
    .where("state", "=", "queued")
    .where("dag_id", "in", [...free.keys()])
    .where("backfill_id", "is", null)
    .as("ranked");
  const rows = await trx
    .selectFrom(ranked)
    .select(["id", "dag_id", "rank"])
    .where("rank", "<=", most)
    .orderBy("dag_id")
    .orderBy("rank")
    .execute();
  return rows
    .filter((r) => Number(r.rank) <= free.get(r.dag_id)!)
    .map((r) => ({ id: Number(r.id), dagId: r.dag_id }));
}

/**
 * The queued runs of the DAGs' unpaused, uncompleted backfills that fit in each backfill's
 * max_active_runs, in the backfill's order. The backfill rows are locked (SKIP LOCKED) as the DAG
 * rows are, so two schedulers never count the same free slots.
 */
async function backfillRunsToStart(
  trx: Transaction<Tables>,
  database: Database,
  dagIds: string[],
): Promise<StartedRun[]> {
  let q = trx
    .selectFrom("backfill")
    .select(["id", "dag_id", "max_active_runs", "run_backwards"])
    .where("dag_id", "in", dagIds)
    .where("completed_at", "is", null)
    .where("is_paused", "=", 0)
    .orderBy("id");
  if (database.adapter.capabilities.supportsSkipLocked) q = q.forUpdate().skipLocked();
  const backfills = await q.execute();
  const out: StartedRun[] = [];
  for (const b of backfills) {
    const running = await trx
      .selectFrom("dag_run")
      .select(sql<number | string>`count(*)`.as("n"))
      .where("backfill_id", "=", b.id)
      .where("state", "in", [...RUN_SLOT_STATES])
      .executeTakeFirstOrThrow();
    const free = b.max_active_runs - Number(running.n);
    if (free <= 0) continue;
    const order = b.run_backwards ? "desc" : "asc";
    const queued = await trx
      .selectFrom("dag_run")
      .select(["id", "dag_id"])
      .where("backfill_id", "=", b.id)
      .where("state", "=", "queued")
      .orderBy("logical_date", order)
      .orderBy("id", order)
      .limit(free)
      .execute();
    out.push(...queued.map((r) => ({ id: Number(r.id), dagId: r.dag_id })));
  }
  return out;
}
