/**
 * Backfills: a scheduled-style run (run type backfill) for every interval of a DAG's timetable whose
 * logical date falls in [start, end]. The CLI's makes the runs that do not exist; the API's (Airflow
 * 3's backfill object, createBackfill) records a backfill whose runs the scheduler starts within its
 * own max_active_runs, reprocessing existing runs as asked.
 */
import { ConflictError, InvalidInputError, NotFoundError } from "../core/errors.ts";
import { isRunFinished } from "../core/states.ts";
import { nextDagRunInfo, runIdFor, timetableDagOf, type DagRunInfo } from "../core/timetables/index.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { wakeSchedulers } from "../storage/wakeups.ts";
import { dagStore } from "../storage/dags.ts";
import type { BackfillRow, DagRunRow } from "../storage/schema.ts";
import { backfillStore, insertBackfill } from "../storage/backfills.ts";
import { insertRunWithTasks } from "../storage/dag-runs.ts";
import { clearTaskInstances } from "./clear.ts";

const MAX_RUNS = 10_000;

export async function backfillIntervals(
  database: Database,
  dagId: string,
  start: Date,
  end: Date,
): Promise<DagRunInfo[]> {
  const dag = await dagStore(database).getSerialized(dagId);
  if (!dag) throw new NotFoundError(`dag "${dagId}" not found: see \`updraft dags list\``);
  if (dag.schedule === null)
    throw new InvalidInputError(
      `dag "${dagId}" has no schedule, so it has no intervals to backfill: trigger runs instead`,
    );
  if (dag.schedule.kind === "continuous")
    throw new InvalidInputError(
      `dag "${dagId}" runs continuously ("@continuous"), so it has no intervals to backfill: trigger runs instead`,
    );
  const timetable = { ...timetableDagOf(dag), startDate: start, endDate: end, catchup: true };
  const infos: DagRunInfo[] = [];
  let previous: { start: Date; end: Date } | null = null;
  for (;;) {
    const info = nextDagRunInfo(timetable, { lastAutomatedDataInterval: previous, now: new Date(8.64e15) });
    if (!info || info.logicalDate > end) break;
    infos.push(info);
    if (infos.length > MAX_RUNS)
      throw new InvalidInputError(
        `backfill of "${dagId}" from ${start.toISOString()} to ${end.toISOString()} would create more than ${MAX_RUNS} runs: narrow the range`,
      );
    previous = { start: info.dataIntervalStart, end: info.dataIntervalEnd };
    if (dag.schedule.kind === "once") break;
  }
  return infos;
}

/** Creates the backfill runs that do not exist yet; returns every run of the range, oldest first. */
export async function createBackfillRuns(
  database: Database,
  dagId: string,
  infos: DagRunInfo[],
  conf: Record<string, unknown> = {},
): Promise<DagRunRow[]> {
  const dag = (await dagStore(database).getSerialized(dagId))!;
  const runs = dagRunStore(database);
  const out: DagRunRow[] = [];
  for (const info of infos) {
    const existing = await database.db
      .selectFrom("dag_run")
      .selectAll()
      .where("dag_id", "=", dagId)
      .where("logical_date", "=", info.logicalDate.toISOString())
      .executeTakeFirst();
    if (existing) {
      out.push(existing);
      continue;
    }
    out.push(
      await runs.create({
        dag,
        runId: runIdFor("backfill", info.logicalDate),
        runType: "backfill",
        logicalDate: info.logicalDate.toISOString(),
        dataIntervalStart: info.dataIntervalStart.toISOString(),
        dataIntervalEnd: info.dataIntervalEnd.toISOString(),
        runAfter: nowIso(),
        conf,
        triggeredBy: "backfill",
      }),
    );
  }
  if (infos.length > 0) await wakeSchedulers(database);
  return out;
}

export type ReprocessBehavior = "none" | "failed" | "completed";

/** An interval a backfill runs: a new run, or the existing finished run it clears and runs again. */
export interface PlannedRun {
  info: DagRunInfo;
  existing: DagRunRow | null;
}

/**
 * The intervals of `infos` a backfill would run (Airflow's _get_dag_run_no_create_reason): a run in
 * flight is never redone; a finished one is redone when told to reprocess completed runs, or failed
 * ones and it failed; a date without a run is always run.
 */
export async function planBackfillRuns(
  database: Database,
  dagId: string,
  infos: DagRunInfo[],
  reprocess: ReprocessBehavior,
): Promise<PlannedRun[]> {
  const planned: PlannedRun[] = [];
  for (const info of infos) {
    const latest = await database.db
      .selectFrom("dag_run")
      .selectAll()
      .where("dag_id", "=", dagId)
      .where("logical_date", "=", info.logicalDate.toISOString())
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    const redo =
      !latest ||
      (isRunFinished(latest.state) &&
        (reprocess === "completed" || (reprocess === "failed" && latest.state === "failed")));
    if (redo) planned.push({ info, existing: latest ?? null });
  }
  return planned;
}

/** The logical dates a backfill would run (its dry run). */
export async function datesToReprocess(
  database: Database,
  dagId: string,
  infos: DagRunInfo[],
  reprocess: ReprocessBehavior,
): Promise<string[]> {
  const planned = await planBackfillRuns(database, dagId, infos, reprocess);
  return planned.map((p) => p.info.logicalDate.toISOString());
}

export interface BackfillRequest {
  dagId: string;
  from: Date;
  to: Date;
  runBackwards: boolean;
  conf: Record<string, unknown>;
  reprocess: ReprocessBehavior;
  maxActiveRuns: number;
  user: string | null;
}

/**
 * Makes a backfill (Airflow 3's _create_backfill): its row, a queued run (type backfill) for each
 * interval without one, and the finished runs to reprocess cleared and taken into it. The scheduler
 * starts its runs within its max_active_runs, newest first when it runs backwards. Refused while the
 * DAG has a backfill that is not completed.
 */
export async function createBackfill(database: Database, r: BackfillRequest): Promise<BackfillRow> {
  const store = backfillStore(database);
  const active = await store.active(r.dagId);
  if (active)
    throw new ConflictError(
      `another backfill (${active.id}) is running for dag "${r.dagId}": there can be only one running backfill per DAG; cancel it or wait for it to complete`,
    );
  const dag = await dagStore(database).getSerialized(r.dagId);
  if (!dag) throw new NotFoundError(`Could not find dag ${r.dagId}`);
  const now = new Date();
  // Only whole intervals: one that has not ended yet is the scheduler's to run.
  const until = new Date(Math.min(r.to.getTime(), now.getTime()));
  let infos = (await backfillIntervals(database, r.dagId, r.from, until)).filter(
    (i) => i.dataIntervalEnd <= now,
  );
  if (r.runBackwards) infos = infos.reverse();
  const planned = await planBackfillRuns(database, r.dagId, infos, r.reprocess);
  // Reprocessed runs are cleared first (queued again), then taken into the backfill with the new ones.
  for (const p of planned)
    if (p.existing) await clearTaskInstances(database, { dagId: r.dagId, runId: p.existing.run_id });
  const id = await database.db.transaction().execute(async (trx) => {
    const stamp = nowIso();
    const backfillId = await insertBackfill(database, trx, r, stamp);
    for (const { info, existing } of planned) {
      if (existing) {
        await trx
          .updateTable("dag_run")
          .set({
            backfill_id: backfillId,
            run_type: "backfill",
            triggered_by: "backfill",
            conf: JSON.stringify(r.conf),
            // Queued again whatever its task instances were (Airflow clears with dag_run_state=QUEUED).
            state: "queued",
            queued_at: stamp,
            start_date: null,
            end_date: null,
            duration: null,
            updated_at: stamp,
          })
          .where("id", "=", existing.id)
          .execute();
        continue;
      }
      await insertRunWithTasks(
        database,
        trx,
        {
          dag,
          runId: runIdFor("backfill", info.logicalDate),
          runType: "backfill",
          logicalDate: info.logicalDate.toISOString(),
          dataIntervalStart: info.dataIntervalStart.toISOString(),
          dataIntervalEnd: info.dataIntervalEnd.toISOString(),
          runAfter: info.dataIntervalEnd.toISOString(),
          conf: r.conf,
          triggeredBy: "backfill",
          backfillId,
        },
        stamp,
      );
    }
    return backfillId;
  });
  if (planned.length > 0) await wakeSchedulers(database);
  return (await store.get(id))!;
}
