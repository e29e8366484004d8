/**
 * Creating scheduled DAG runs. Each DAG row stores its next run (computed once, when the DAG is new
 * or changed, and after each run is created), so a loop only reads DAGs whose next run is due. A DAG
 * row is locked while its run is created (SKIP LOCKED: another scheduler moves on to other DAGs), and
 * the run's unique id stops a duplicate even without the lock. maxActiveRuns is read under that lock,
 * in the same transaction, with the definition starting runs uses (storage/sql/start-queued-runs.ts);
 * a deadlock or a lost connection runs the DAG's transaction again.
 */
import type { Selectable, Transaction } from "kysely";
import type { SerializedDag } from "../core/serialized.ts";
import { nextDagRunInfo, runIdFor, timetableDagOf, type DagRunInfo } from "../core/timetables/index.ts";
import type { Logger } from "../logging.ts";
import type { Database } from "../storage/database.ts";
import { insertRunWithTasks } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import { retrying } from "../storage/retry.ts";
import type { Tables } from "../storage/schema.ts";
import { ACTIVE_RUN_STATES, countRuns } from "../storage/sql/start-queued-runs.ts";

/** Stored as next_dagrun_create_after when a DAG will never run on schedule again. */
export const NEVER = "9999-12-31T23:59:59.999Z";

export async function createDueRuns(database: Database, o: { now: string; log: Logger }): Promise<number> {
  await computeMissingNextRuns(database, o.now);
  const due = await database.db
    .selectFrom("dag")
    .select("dag_id")
    .where("is_active", "=", 1)
    .where("is_paused", "=", 0)
    .where("next_dagrun_create_after", "<=", o.now)
    .orderBy("next_dagrun_create_after")
    .limit(100)
    .execute();
  let created = 0;
  for (const { dag_id } of due) {
    const runId = await createNextRun(database, dag_id, o.now);
    if (runId) {
      created++;
      o.log.info({ dagId: dag_id, runId }, "created scheduled run");
    }
  }
  return created;
}

/** New or changed DAGs have no next run stored yet: compute it from their last scheduled run. */
async function computeMissingNextRuns(database: Database, now: string): Promise<void> {
  const rows = await database.db
    .selectFrom("dag")
    .select("dag_id")
    .where("is_active", "=", 1)
    .where("next_dagrun_create_after", "is", null)
    .limit(500)
    .execute();
  for (const { dag_id } of rows) {
    const dag = await dagStore(database).getSerialized(dag_id);
    if (!dag) continue;
    const compute = () =>
      database.db.transaction().execute(async (trx) => {
        const info = nextDagRunInfo(timetableDagOf(dag), {
          lastAutomatedDataInterval: await lastInterval(trx, dag_id),
          now: new Date(now),
        });
        await storeNext(trx, dag_id, info);
      });
    await retrying(compute, { what: `computing the next run of ${dag_id}`, maxMs: 30_000 });
  }
}

async function createNextRun(database: Database, dagId: string, now: string): Promise<string | null> {
  const dag = await dagStore(database).getSerialized(dagId);
  if (!dag) return null;
  return retrying(() => createUnderLock(database, dag, now), {
    what: `creating the next run of ${dagId}`,
    maxMs: 30_000,
  });
}

async function createUnderLock(database: Database, dag: SerializedDag, now: string): Promise<string | null> {
  const dagId = dag.dagId;
  return database.db.transaction().execute(async (trx) => {
    let q = trx
      .selectFrom("dag")
      .selectAll()
      .where("dag_id", "=", dagId)
      .where("is_paused", "=", 0)
      .where("next_dagrun_create_after", "<=", now);
    if (database.adapter.capabilities.supportsSkipLocked) q = q.forUpdate().skipLocked();
    const row = await q.executeTakeFirst();
    if (!row) return null;
    // maxActiveRuns: wait, the run stays due.
    const active = await countRuns(trx, [dagId], ACTIVE_RUN_STATES);
    if ((active.get(dagId) ?? 0) >= row.max_active_runs) return null;
    const next = await runToCreate(trx, dag, row, now);
    if (next === null) {
      await storeNext(trx, dagId, null);
      return null;
    }
    const runId = runIdFor("scheduled", new Date(next.logicalDate));
    await insertRunWithTasks(database, trx, scheduledRun(dag, runId, next), now);
    const interval = { start: new Date(next.dataIntervalStart), end: new Date(next.dataIntervalEnd) };
    await storeNext(
      trx,
      dagId,
      nextDagRunInfo(timetableDagOf(dag), { lastAutomatedDataInterval: interval, now: new Date(now) }),
    );
    return runId;
  });
}

/** The dates of a run to create, as ISO strings. */
interface NextRun {
  logicalDate: string;
  dataIntervalStart: string;
  dataIntervalEnd: string;
  runAfter: string;
}

/**
 * The run stored as the DAG's next one. A continuous DAG's is computed again now: its interval
 * runs up to the moment it is created, which is only known once maxActiveRuns (1) lets it start
 * (Airflow computes it when the previous run ends). Null when there is none (a broken row, or a
 * continuous DAG past its endDate).
 */
async function runToCreate(
  trx: Transaction<Tables>,
  dag: SerializedDag,
  row: Pick<
    Selectable<Tables["dag"]>,
    | "next_dagrun"
    | "next_dagrun_data_interval_start"
    | "next_dagrun_data_interval_end"
    | "next_dagrun_create_after"
  >,
  now: string,
): Promise<NextRun | null> {
  if (dag.schedule?.kind === "continuous") {
    const last = await lastInterval(trx, dag.dagId);
    const info = nextDagRunInfo(timetableDagOf(dag), { lastAutomatedDataInterval: last, now: new Date(now) });
    return (
      info && {
        logicalDate: info.logicalDate.toISOString(),
        dataIntervalStart: info.dataIntervalStart.toISOString(),
        dataIntervalEnd: info.dataIntervalEnd.toISOString(),
        runAfter: info.runAfter.toISOString(),
      }
    );
  }
  const { next_dagrun, next_dagrun_data_interval_start: start, next_dagrun_data_interval_end: end } = row;
  if (next_dagrun === null || start === null || end === null) return null;
  return {
    logicalDate: next_dagrun,
    dataIntervalStart: start,
    dataIntervalEnd: end,
    runAfter: row.next_dagrun_create_after!,
  };
}

function scheduledRun(dag: SerializedDag, runId: string, next: NextRun) {
  return {
    dag,
    runId,
    runType: "scheduled" as const,
    ...next,
    triggeredBy: "scheduler",
  };
}

async function lastInterval(trx: Transaction<Tables>, dagId: string) {
  const last = await trx
    .selectFrom("dag_run")
    .select(["data_interval_start", "data_interval_end"])
    .where("dag_id", "=", dagId)
    .where("run_type", "in", ["scheduled", "backfill"])
    .where("data_interval_end", "is not", null)
    .orderBy("data_interval_end", "desc")
    .limit(1)
    .executeTakeFirst();
  return last?.data_interval_start && last.data_interval_end
    ? { start: new Date(last.data_interval_start), end: new Date(last.data_interval_end) }
    : null;
}

async function storeNext(trx: Transaction<Tables>, dagId: string, info: DagRunInfo | null): Promise<void> {
  await trx
    .updateTable("dag")
    .set({
      next_dagrun: info?.logicalDate.toISOString() ?? null,
      next_dagrun_data_interval_start: info?.dataIntervalStart.toISOString() ?? null,
      next_dagrun_data_interval_end: info?.dataIntervalEnd.toISOString() ?? null,
      next_dagrun_create_after: info?.runAfter.toISOString() ?? NEVER,
    })
    .where("dag_id", "=", dagId)
    .execute();
}
