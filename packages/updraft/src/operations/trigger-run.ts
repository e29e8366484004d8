/**
 * Triggering a run by hand (CLI, API): conf checked against the DAG's params, the data interval
 * inferred from the timetable as Airflow does, run id `manual__<logical date>` unless one is given.
 */
import { NotFoundError } from "../core/errors.ts";
import { resolveParams } from "../core/params.ts";
import { inferManualDataInterval, runIdFor, timetableDagOf } from "../core/timetables/index.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { dagRunStore, type RunType } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import type { DagRunRow } from "../storage/schema.ts";

export interface TriggerOptions {
  dagId: string;
  conf?: Record<string, unknown>;
  runId?: string;
  /** Default: now. */
  logicalDate?: Date;
  runType?: RunType;
  triggeredBy?: string;
  note?: string;
  now?: string;
}

export async function triggerDagRun(database: Database, o: TriggerOptions): Promise<DagRunRow> {
  const dag = await dagStore(database).getSerialized(o.dagId);
  if (!dag) throw new NotFoundError(`dag "${o.dagId}" not found: see \`updraft dags list\``);
  const now = o.now ?? nowIso();
  resolveParams(dag.dagId, dag.params, o.conf ?? {});
  const logicalDate = o.logicalDate ?? new Date(now);
  const interval = inferManualDataInterval(timetableDagOf(dag), logicalDate);
  const runType = o.runType ?? "manual";
  return dagRunStore(database).create(
    {
      dag,
      runId: o.runId ?? runIdFor(runType, logicalDate),
      runType,
      logicalDate: logicalDate.toISOString(),
      dataIntervalStart: interval.start.toISOString(),
      dataIntervalEnd: interval.end.toISOString(),
      runAfter: now,
      conf: o.conf ?? {},
      triggeredBy: o.triggeredBy ?? "cli",
      note: o.note ?? null,
    },
    now,
  );
}
