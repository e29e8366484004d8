/**
 * Triggering a run by hand (CLI, API): conf checked against the DAG's params, the data interval
 * inferred from the timetable as Airflow does, run id `manual__<logical date>` unless one is given.
 */
import { InvalidInputError, NotFoundError } from "../core/errors.ts";
import { resolveParams } from "../core/params.ts";
import { inferManualDataInterval, runIdFor, timetableDagOf } from "../core/timetables/index.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { dagRunStore, type RunType } from "../storage/dag-runs.ts";
import { dagStore } from "../storage/dags.ts";
import type { DagRunRow } from "../storage/schema.ts";
import { wakeSchedulers } from "../storage/wakeups.ts";

export interface TriggerOptions {
  dagId: string;
  conf?: Record<string, unknown>;
  runId?: string;
  /** A given runId must match it (`[scheduler] allowed_run_id_pattern`); generated ones always do. */
  allowedRunIdPattern?: string;
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
  if (o.runId !== undefined) checkRunId(o.runId, o.allowedRunIdPattern);
  const now = o.now ?? nowIso();
  resolveParams(dag.dagId, dag.params, o.conf ?? {});
  const logicalDate = o.logicalDate ?? new Date(now);
  const interval = inferManualDataInterval(timetableDagOf(dag), logicalDate);
  const runType = o.runType ?? "manual";
  const run = await dagRunStore(database).create(
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
  await wakeSchedulers(database);
  return run;
}

/**
 * A run id a user chose ends up in log paths, URLs and the UI: it must match the configured pattern,
 * and never be a path step ("." or ".."), whatever the pattern allows.
 */
export function checkRunId(runId: string, pattern: string | undefined): void {
  const fine =
    runId.length > 0 &&
    runId.length <= 250 &&
    runId !== "." &&
    runId !== ".." &&
    (pattern === undefined || new RegExp(pattern).test(runId));
  if (!fine)
    throw new InvalidInputError(
      `run id "${runId.slice(0, 100)}" is not allowed: it must match ${pattern ?? "a non-empty id"} ` +
        "([scheduler] allowed_run_id_pattern), at most 250 characters, and not be '.' or '..'",
    );
}
