/**
 * Backfills: a scheduled-style run (run type backfill) for every interval of a DAG's timetable whose
 * logical date falls in [start, end], skipping intervals that already have a run.
 */
import { InvalidInputError, NotFoundError } from "../core/errors.ts";
import { isRunFinished } from "../core/states.ts";
import { nextDagRunInfo, runIdFor, timetableDagOf, type DagRunInfo } from "../core/timetables/index.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import { wakeSchedulers } from "../storage/wakeups.ts";
import { dagStore } from "../storage/dags.ts";
import type { DagRunRow } from "../storage/schema.ts";

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

/**
 * The logical dates of `infos` a backfill would run (Airflow's _get_dag_run_no_create_reason): a run
 * in flight is never redone; a finished one is redone when told to reprocess completed runs, or
 * failed ones and it failed; a date without a run is always run.
 */
export async function datesToReprocess(
  database: Database,
  dagId: string,
  infos: DagRunInfo[],
  reprocess: ReprocessBehavior,
): Promise<string[]> {
  const dates: string[] = [];
  for (const info of infos) {
    const logicalDate = info.logicalDate.toISOString();
    const latest = await database.db
      .selectFrom("dag_run")
      .select("state")
      .where("dag_id", "=", dagId)
      .where("logical_date", "=", logicalDate)
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    const redo =
      !latest ||
      (isRunFinished(latest.state) &&
        (reprocess === "completed" || (reprocess === "failed" && latest.state === "failed")));
    if (redo) dates.push(logicalDate);
  }
  return dates;
}
