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
import type { DagRunAccess, TriggerRequest, TriggeredRun } from "../executor/cross-dag.ts";
import { TRIGGER_LOGICAL_DATE_XCOM, TRIGGER_RUN_ID_XCOM } from "../sdk/index.ts";
import type { TryFence } from "../storage/task-instances.ts";
import { encodeXCom, xcomStore } from "../storage/xcom.ts";
import { clearTaskInstances } from "./clear.ts";
import { UpdraftError } from "../core/errors.ts";

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

/**
 * What trigger_dagrun tries get of the installation's runs (executor/cross-dag.ts): the trigger of
 * `updraft dags trigger` with Airflow's reset_dag_run, and the XComs the operator pushes. The local
 * executor calls it directly; the Task Execution API calls it for tries on workers.
 */
export function dagRunAccess(database: Database, o: { allowedRunIdPattern?: string } = {}): DagRunAccess {
  return {
    trigger: (caller, request) => triggerForTask(database, caller, request, o.allowedRunIdPattern),
    stateOf: async (dagId, runId) => (await dagRunStore(database).get(dagId, runId))?.state ?? null,
  };
}

async function triggerForTask(
  database: Database,
  caller: TryFence,
  r: TriggerRequest,
  allowedRunIdPattern: string | undefined,
): Promise<TriggeredRun> {
  const run = await triggerOrReset(database, r, allowedRunIdPattern);
  const triggered = { runId: run.run_id, logicalDate: run.logical_date };
  await pushTriggered(database, caller, triggered);
  return triggered;
}

async function triggerOrReset(
  database: Database,
  r: TriggerRequest,
  allowedRunIdPattern: string | undefined,
): Promise<DagRunRow> {
  try {
    return await triggerDagRun(database, {
      dagId: r.dagId,
      conf: r.conf,
      runId: r.runId ?? undefined,
      allowedRunIdPattern: r.runId === null ? undefined : allowedRunIdPattern,
      logicalDate: r.logicalDate === null ? undefined : new Date(r.logicalDate),
      // Airflow's DagRunTriggeredByType.OPERATOR.
      triggeredBy: "operator",
    });
  } catch (error) {
    if (!(error instanceof UpdraftError) || error.code !== "ALREADY_EXISTS" || !r.resetDagRun) throw error;
    // Airflow's reset_dag_run: the existing run is cleared and runs again.
    const runId = r.runId ?? runIdFor("manual", new Date(r.logicalDate ?? Date.now()));
    const existing = (await dagRunStore(database).get(r.dagId, runId))!;
    await clearTaskInstances(database, { dagId: r.dagId, runId: existing.run_id });
    return existing;
  }
}

/** Airflow's XCOM_RUN_ID and XCOM_LOGICAL_DATE, pushed for the calling try as soon as its run exists. */
async function pushTriggered(database: Database, caller: TryFence, t: TriggeredRun): Promise<void> {
  const ti = await database.db
    .selectFrom("task_instance")
    .select(["dag_run_id", "dag_id", "run_id", "task_id", "map_index"])
    .where("dag_id", "=", caller.key.dagId)
    .where("run_id", "=", caller.key.runId)
    .where("task_id", "=", caller.key.taskId)
    .where("map_index", "=", caller.key.mapIndex ?? -1)
    .executeTakeFirstOrThrow();
  const xcoms = xcomStore(database);
  const base = {
    dagRunId: ti.dag_run_id,
    dagId: ti.dag_id,
    runId: ti.run_id,
    taskId: ti.task_id,
    mapIndex: ti.map_index,
  };
  const now = nowIso();
  await xcoms.push(
    { ...base, key: TRIGGER_RUN_ID_XCOM },
    encodeXCom(t.runId, 1 << 20, "trigger_run_id"),
    now,
  );
  await xcoms.push(
    { ...base, key: TRIGGER_LOGICAL_DATE_XCOM },
    encodeXCom(t.logicalDate, 1 << 20, "trigger_logical_date"),
    now,
  );
}
