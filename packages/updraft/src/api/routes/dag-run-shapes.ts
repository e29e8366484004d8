/** DAG runs in the shape of Airflow's DAGRunResponse, with the DAG version each was created with. */
import type { Database } from "../../storage/database.ts";
import { dagVersionStore } from "../../storage/dag-versions.ts";
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

/** The versions runs (or task instances) were created with, by version id. */
export async function dagVersions(
  database: Database,
  versionIds: Iterable<string | null>,
): Promise<Map<string, DagVersionResponse>> {
  const rows = await dagVersionStore(database).byIds(versionIds);
  return new Map([...rows].map(([id, row]) => [id, dagVersionView(row)]));
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

export function versionOf(
  versions: Map<string, DagVersionResponse>,
  id: string | null,
): DagVersionResponse | undefined {
  return id === null ? undefined : versions.get(id);
}

/** Responses for several runs, reading each DAG's version once. */
export async function dagRunResponses(database: Database, runs: DagRunRow[]): Promise<DagRunResponse[]> {
  const versions = await dagVersions(
    database,
    runs.map((r) => r.created_dag_version_id),
  );
  return runs.map((r) => dagRunResponse(r, versionOf(versions, r.created_dag_version_id)));
}
