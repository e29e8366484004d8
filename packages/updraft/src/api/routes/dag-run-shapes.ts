/**
 * DAG runs in the shape of Airflow's DAGRunResponse, with the one version Updraft keeps of each DAG
 * (dag-view.ts).
 */
import type { Database } from "../../storage/database.ts";
import type { DagRunRow } from "../../storage/schema.ts";
import { dagVersionView } from "../dag-view.ts";
import type { components } from "../generated/airflow-v2.ts";

type Schemas = components["schemas"];
export type DagRunResponse = Schemas["DAGRunResponse"];
export type DagVersionResponse = Schemas["DagVersionResponse"];

const RUN_TYPES = new Set<string>([
  "backfill",
  "scheduled",
  "manual",
  "asset_triggered",
  "asset_materialization",
]);
const TRIGGERED_BY = new Set<string>([
  "cli",
  "operator",
  "rest_api",
  "ui",
  "test",
  "timetable",
  "asset",
  "backfill",
]);

/** The current version of each DAG: the serialized DAG's hash and when it was stored. */
export async function dagVersions(
  database: Database,
  dagIds: Iterable<string>,
): Promise<Map<string, DagVersionResponse>> {
  const ids = [...new Set(dagIds)];
  const out = new Map<string, DagVersionResponse>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await database.db
      .selectFrom("serialized_dag")
      .select(["dag_id", "dag_hash", "last_updated"])
      .where("dag_id", "in", ids.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(r.dag_id, dagVersionView(r));
  }
  return out;
}

/** Seconds between two ISO times, or null when either is missing. */
export function secondsBetween(start: string | null, end: string | null): number | null {
  if (!start || !end) return null;
  return (Date.parse(end) - Date.parse(start)) / 1000;
}

function parseConf(conf: string | null): Record<string, unknown> | null {
  if (conf === null) return null;
  try {
    const value: unknown = JSON.parse(conf);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Updraft's "scheduler" is Airflow's "timetable"; values Airflow does not know are null. */
function triggeredBy(value: string | null): DagRunResponse["triggered_by"] {
  if (value === "scheduler") return "timetable";
  return value !== null && TRIGGERED_BY.has(value) ? (value as DagRunResponse["triggered_by"]) : null;
}

export function dagRunResponse(run: DagRunRow, version: DagVersionResponse | undefined): DagRunResponse {
  return {
    dag_run_id: run.run_id,
    dag_id: run.dag_id,
    logical_date: run.logical_date,
    queued_at: run.queued_at,
    start_date: run.start_date,
    end_date: run.end_date,
    duration: secondsBetween(run.start_date, run.end_date),
    data_interval_start: run.data_interval_start,
    data_interval_end: run.data_interval_end,
    run_after: run.run_after,
    last_scheduling_decision: run.last_scheduling_decision,
    run_type: (RUN_TYPES.has(run.run_type) ? run.run_type : "manual") as DagRunResponse["run_type"],
    state: run.state as DagRunResponse["state"],
    triggered_by: triggeredBy(run.triggered_by),
    // Updraft's dag_run has no triggering_user_name column yet.
    triggering_user_name: null,
    conf: parseConf(run.conf),
    note: run.note,
    dag_versions: version ? [version] : [],
    bundle_version: null,
    dag_display_name: run.dag_id,
    partition_key: null,
  };
}

/** Responses for several runs, reading each DAG's version once. */
export async function dagRunResponses(database: Database, runs: DagRunRow[]): Promise<DagRunResponse[]> {
  const versions = await dagVersions(
    database,
    runs.map((r) => r.dag_id),
  );
  return runs.map((r) => dagRunResponse(r, versions.get(r.dag_id)));
}
