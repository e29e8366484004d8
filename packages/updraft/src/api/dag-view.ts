/**
 * How Updraft's DAGs look through Airflow's API, for every route that shows them: file tokens, DAG
 * versions, operator names of task kinds, timedeltas and durations, params.
 */
import type { ParamSpec, SerializedDag } from "../core/serialized.ts";

/** A DAG file's token (DAGResponse.file_token, reparse_dag_file): base64url of its stored fileloc. */
export function fileToken(fileloc: string): string {
  return Buffer.from(fileloc, "utf8").toString("base64url");
}

/** The fileloc a token names, or null when it is not one of ours. */
export function filelocOfToken(token: string): string | null {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return null;
  const fileloc = Buffer.from(token, "base64url").toString("utf8");
  return fileToken(fileloc) === token ? fileloc : null;
}

export interface DagVersionView {
  id: string;
  version_number: number;
  dag_id: string;
  bundle_name: null;
  bundle_version: null;
  created_at: string;
  dag_display_name: string;
  bundle_url: null;
}

/** A stored DAG version (storage/dag-versions.ts) as Airflow's DagVersionResponse; Updraft has no bundles. */
export function dagVersionView(row: {
  id: string;
  dag_id: string;
  version_number: number;
  created_at: string;
}): DagVersionView {
  return {
    id: row.id,
    version_number: row.version_number,
    dag_id: row.dag_id,
    bundle_name: null,
    bundle_version: null,
    created_at: row.created_at,
    dag_display_name: row.dag_id,
    bundle_url: null,
  };
}

/** Airflow's operator for each Updraft task kind (TaskResponse.operator_name, class_ref). */
const OPERATORS: Record<string, { name: string; uiColor: string }> = {
  task: { name: "PythonOperator", uiColor: "#ffefeb" },
  branch: { name: "BranchPythonOperator", uiColor: "#ffefeb" },
  short_circuit: { name: "ShortCircuitOperator", uiColor: "#ffefeb" },
  bash: { name: "BashOperator", uiColor: "#f0ede4" },
  empty: { name: "EmptyOperator", uiColor: "#e8f7e4" },
  latest_only: { name: "LatestOnlyOperator", uiColor: "#e9ffdb" },
  trigger_dagrun: { name: "TriggerDagRunOperator", uiColor: "#ffefeb" },
  external_task_marker: { name: "ExternalTaskMarker", uiColor: "#4db7db" },
  email: { name: "EmailOperator", uiColor: "#e6faf9" },
  http: { name: "HttpOperator", uiColor: "#f4a460" },
  sql: { name: "SQLExecuteQueryOperator", uiColor: "#cdaaed" },
  task_bash: { name: "BashOperator", uiColor: "#f0ede4" },
};

export function operatorNameOf(kind: string): string {
  return OPERATORS[kind]?.name ?? kind;
}

export function operatorColorOf(kind: string): string {
  return OPERATORS[kind]?.uiColor ?? "#fff";
}

/** The fields of a task kind that are rendered as templates at run time. */
export function templateFieldsOf(kind: string): string[] {
  if (kind === "email") return ["to", "subject", "html", "files", "cc", "bcc", "from", "connId"];
  if (kind === "bash") return ["command", "env", "cwd"];
  if (kind === "task_bash") return ["env", "cwd"];
  if (kind === "http") return ["endpoint", "method", "data", "headers"];
  if (kind === "sql") return ["sql", "parameters"];
  return [];
}

/** Seconds as Airflow's TimeDelta object. */
export function timeDelta(seconds: number): {
  __type: string;
  days: number;
  seconds: number;
  microseconds: number;
} {
  const totalMicros = Math.round(seconds * 1e6);
  const days = Math.floor(totalMicros / 86_400_000_000);
  const rest = totalMicros - days * 86_400_000_000;
  return {
    __type: "TimeDelta",
    days,
    seconds: Math.floor(rest / 1e6),
    microseconds: rest % 1e6,
  };
}

/** Seconds as an ISO-8601 duration ("PT2H", "P1DT30M"), as Airflow's API writes a timedelta. */
export function isoDuration(seconds: number): string {
  let rest = Math.round(seconds);
  const days = Math.floor(rest / 86400);
  rest -= days * 86400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const secs = rest - minutes * 60;
  const time = `${hours ? `${hours}H` : ""}${minutes ? `${minutes}M` : ""}${secs ? `${secs}S` : ""}`;
  if (!days && !time) return "PT0S";
  return `P${days ? `${days}D` : ""}${time ? `T${time}` : ""}`;
}

/** DAG params as Airflow's API shows them: `{name: {value, description, schema}}`. */
export function paramsView(params: SerializedDag["params"]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(params)) {
    const { default: value, description, ...schema } = spec as ParamSpec;
    out[name] = {
      __class: "airflow.sdk.definitions.param.Param",
      value: value ?? null,
      description: description ?? null,
      schema,
    };
  }
  return out;
}
