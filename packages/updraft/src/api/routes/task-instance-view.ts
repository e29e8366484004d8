/**
 * Task instances as the API shows them: one query (task_instance joined to its run) that every
 * task-instance endpoint filters, and the Airflow-shaped records built from its rows.
 */
import { createHash } from "node:crypto";
import type { Database } from "../../storage/database.ts";
import { findTi, tiNotFound, type TiKey, type TiRow } from "../../storage/task-instance-rows.ts";
import { taskInstanceStore } from "../../storage/task-instances.ts";
import { notFound } from "../errors.ts";
import { jobResponse } from "./admin-common.ts";
import { dagVersions } from "./dag-run-shapes.ts";
import type { components } from "../generated/airflow-v2.ts";

export type TaskInstanceResponse = components["schemas"]["TaskInstanceResponse"];
export type TaskInstanceHistoryResponse = components["schemas"]["TaskInstanceHistoryResponse"];

export { findTi, tiNotFound, tiQuery, type TiKey, type TiRow } from "../../storage/task-instance-rows.ts";

/** The task instance or Airflow's 404. */
export async function requireTi(database: Database, k: TiKey): Promise<TiRow> {
  const ti = await findTi(database, k);
  if (!ti) throw notFound(tiNotFound(k));
  return ti;
}

/**
 * Updraft keys task instances by (dag, run, task, map index); Airflow's API shows a UUID. This one is
 * derived from the key (name-based, like a UUID v5), so it is the same on every call and every server.
 */
export function tiUuid(dagId: string, runId: string, taskId: string, mapIndex: number): string {
  const h = createHash("sha1").update(`${dagId}\u0000${runId}\u0000${taskId}\u0000${mapIndex}`).digest("hex");
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function parseObject(text: string | null): Record<string, unknown> {
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : { value };
  } catch {
    return {};
  }
}

type TiState = NonNullable<TaskInstanceResponse["state"]>;

type DagVersionResponse = components["schemas"]["DagVersionResponse"];
type Versions = ReadonlyMap<string, DagVersionResponse>;

type TriggerResponse = components["schemas"]["TriggerResponse"];
type JobResponse = components["schemas"]["JobResponse"];

/** What deferred task instances wait on: their triggers and the triggerers running them. */
interface Waits {
  triggers: ReadonlyMap<number, TriggerResponse>;
  triggerers: ReadonlyMap<number, JobResponse>;
}

/** Responses for task instances, reading the DAG versions they were created with once. */
export async function tiResponses(
  database: Database,
  tis: readonly TiRow[],
): Promise<TaskInstanceResponse[]> {
  const versions = await dagVersions(
    database,
    tis.map((t) => t.dag_version_id),
  );
  const waits = await waitsOf(database, tis);
  return tis.map((t) => tiResponse(t, versions, waits));
}

/** The trigger rows (and triggerer jobs) the task instances name, in two reads. */
async function waitsOf(database: Database, tis: readonly TiRow[]): Promise<Waits> {
  const ids = [...new Set(tis.map((t) => t.trigger_id).filter((id): id is number => id !== null))];
  if (ids.length === 0) return { triggers: new Map(), triggerers: new Map() };
  const rows = await database.db.selectFrom("trigger").selectAll().where("id", "in", ids).execute();
  const triggers = new Map<number, TriggerResponse>(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        classpath: r.classpath,
        kwargs: r.kwargs,
        created_date: r.created_date,
        queue: null,
        triggerer_id: r.triggerer_id,
      },
    ]),
  );
  const jobIds = [...new Set(rows.map((r) => r.triggerer_id).filter((id): id is number => id !== null))];
  const jobs =
    jobIds.length === 0
      ? []
      : await database.db.selectFrom("job").selectAll().where("id", "in", jobIds).execute();
  const triggerers = new Map<number, JobResponse>(jobs.map((j) => [j.id, jobResponse(j)]));
  return { triggers, triggerers };
}

export async function oneTiResponse(database: Database, ti: TiRow): Promise<TaskInstanceResponse> {
  return (await tiResponses(database, [ti]))[0]!;
}

const versionIn = (versions: Versions, id: string | null) =>
  id === null ? null : (versions.get(id) ?? null);

export function tiResponse(
  ti: TiRow,
  versions: Versions = new Map(),
  waits: Waits = { triggers: new Map(), triggerers: new Map() },
): TaskInstanceResponse {
  const trigger = ti.trigger_id === null ? null : (waits.triggers.get(ti.trigger_id) ?? null);
  const triggerer =
    trigger?.triggerer_id == null ? null : (waits.triggerers.get(trigger.triggerer_id) ?? null);
  return {
    id: tiUuid(ti.dag_id, ti.run_id, ti.task_id, ti.map_index),
    task_id: ti.task_id,
    dag_id: ti.dag_id,
    dag_run_id: ti.run_id,
    map_index: ti.map_index,
    logical_date: ti.run_logical_date,
    run_after: ti.run_after,
    start_date: ti.start_date,
    end_date: ti.end_date,
    duration: ti.duration,
    state: (ti.state ?? null) as TiState | null,
    try_number: ti.try_number,
    max_tries: ti.max_tries,
    task_display_name: ti.task_id,
    dag_display_name: ti.dag_id,
    hostname: ti.hostname,
    unixname: null,
    pool: ti.pool,
    pool_slots: ti.pool_slots,
    queue: ti.queue,
    priority_weight: ti.priority_weight,
    operator: ti.operator,
    operator_name: ti.operator,
    queued_when: ti.queued_dttm,
    scheduled_when: ti.scheduled_dttm,
    pid: ti.pid,
    executor: ti.executor,
    executor_config: "{}",
    note: ti.note,
    rendered_map_index: ti.rendered_map_index ?? (ti.map_index >= 0 ? String(ti.map_index) : null),
    rendered_fields: parseObject(ti.rendered_fields),
    trigger,
    triggerer_job: triggerer,
    dag_version: versionIn(versions, ti.dag_version_id),
    // Not in Airflow's response: how the try goes on, and when a deferred wait times out.
    next_method: ti.next_method,
    trigger_timeout: ti.trigger_timeout,
  } as TaskInstanceResponse;
}

/** One try: an archived try from task_instance_history, or the live row. */
export interface TryRow {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  try_number: number;
  state: string | null;
  start_date: string | null;
  end_date: string | null;
  duration: number | null;
  hostname: string | null;
  pid: number | null;
  operator: string;
  pool: string;
  queue: string;
  priority_weight: number;
}

/** A try as Airflow's TaskInstanceHistoryResponse; what history does not keep comes from the live row. */
/** Every try of an instance ran with the DAG version the instance was created with. */
export function tryResponse(
  t: TryRow,
  live: TiRow,
  versions: Versions = new Map(),
): TaskInstanceHistoryResponse {
  const isLive = t === live;
  return {
    task_id: t.task_id,
    dag_id: t.dag_id,
    dag_run_id: t.run_id,
    map_index: t.map_index,
    start_date: t.start_date,
    end_date: t.end_date,
    duration: t.duration,
    state: (t.state ?? null) as TiState | null,
    try_number: t.try_number,
    max_tries: live.max_tries,
    task_display_name: t.task_id,
    dag_display_name: t.dag_id,
    hostname: t.hostname,
    unixname: null,
    pool: t.pool,
    pool_slots: live.pool_slots,
    queue: t.queue,
    priority_weight: t.priority_weight,
    operator: t.operator,
    operator_name: t.operator,
    queued_when: isLive ? live.queued_dttm : null,
    scheduled_when: isLive ? live.scheduled_dttm : null,
    pid: t.pid,
    executor: live.executor,
    executor_config: "{}",
    dag_version: versionIn(versions, live.dag_version_id),
  };
}

/**
 * Every try of a task instance, oldest first: the archived ones, then the live row unless its try is
 * already archived (a finished try is copied to history when it ends) or it waits for a retry.
 */
export async function triesOf(database: Database, live: TiRow): Promise<TryRow[]> {
  const history = await taskInstanceStore(database).archivedTries({
    dagId: live.dag_id,
    runId: live.run_id,
    taskId: live.task_id,
    mapIndex: live.map_index,
  });
  const archived = new Set(history.map((h) => h.try_number));
  const out: TryRow[] = [...history];
  if (!archived.has(live.try_number) && live.state !== "up_for_retry") out.push(live);
  return out;
}
