/**
 * The context a running TypeScript task gets from getCurrentContext(): the values templates see
 * (ds, logical_date, params, ti, ...), plus `var`, `conn` and `macros` as templates have them. The
 * runner sends the plain values; `var` and `conn` are built here and read through the runner when the
 * task asks (the task never holds every variable), and `macros` are the templates' own functions.
 */
import { MACROS, type Macros } from "../core/macros.ts";
import { findConnection, getConnection, getVariable, type Connection } from "./lookups.ts";

/** Variables as templates read them (`var.value.get(key, default)`), asynchronous in code. */
export interface VariableAccessor<T> {
  /** The variable (rejects when it does not exist). */
  get(key: string): Promise<T>;
  /** The variable, or `fallback` when it does not exist. */
  get<D>(key: string, fallback: D): Promise<T | D>;
}

/** Connections as templates read them (`conn.get(id)`), asynchronous in code. */
export interface ConnectionAccessor {
  /** The connection (rejects when it does not exist). */
  get(connId: string): Promise<Connection>;
  /** The connection, or `fallback` when it does not exist. */
  get<D>(connId: string, fallback: D): Promise<Connection | D>;
}

/**
 * What getCurrentContext() returns while a TypeScript task runs (Airflow's context). Dates are
 * strings as templates print them (`2024-01-15T00:00:00+00:00`); `macros.datetime.fromisoformat`
 * makes datetimes of them.
 *
 * @example
 * ```ts
 * import { getCurrentContext, task } from "updraft";
 *
 * const report = task("report", async () => {
 *   const { ds, params, macros, var: vars, conn } = getCurrentContext();
 *   const region = await vars.value.get("region", "eu");
 *   const limits = await vars.json.get("limits", { rows: 100 });
 *   const warehouse = await conn.get("warehouse");
 *   const tomorrow = macros.ds_add(ds, 1);
 *   const weekAgo = macros.datetime.fromisoformat(getCurrentContext().logical_date)
 *     .minus(macros.timedelta({ days: 7 }))
 *     .strftime("%Y-%m-%d");
 *   return { region, limits, host: warehouse.host, tomorrow, weekAgo, params };
 * });
 * ```
 */
export interface TaskContext {
  ds: string;
  ds_nodash: string;
  ts: string;
  ts_nodash: string;
  ts_nodash_with_tz: string;
  logical_date: string;
  data_interval_start: string | null;
  data_interval_end: string | null;
  prev_data_interval_start_success: string | null;
  prev_data_interval_end_success: string | null;
  prev_start_date_success: string | null;
  prev_end_date_success: string | null;
  /** When this try started. */
  start_date: string | null;
  run_id: string;
  /** The DAG: its id, tags, owner, and timezone (IANA; absent from runners older than sensors). */
  dag: { dag_id: string; tags: string[]; owner: string; timezone?: string };
  task: { task_id: string; kind: string; retries: number };
  ti: {
    try_number: number;
    max_tries: number;
    map_index: number;
    task_id: string;
    dag_id: string;
    run_id: string;
    queue: string;
    hostname: string | null;
  };
  dag_run: { run_id: string; run_type: string; conf: Record<string, unknown>; logical_date: string };
  params: Record<string, unknown>;
  task_instance_key_str: string;
  test_mode: boolean;
  /**
   * In an asset-triggered run: each asset's URI to the events that started the run (Airflow's
   * triggering_asset_events), each `{ asset, uri, extra, timestamp, source_dag_id, source_task_id,
   * source_run_id, source_map_index }`; empty otherwise.
   */
  triggering_asset_events: Record<string, TriggeringAssetEvent[]>;
  /** The asset events this task's success records: `outlet_events.get(asset).extra = {...}` (see outletEvents()). */
  outlet_events: {
    get(ref: unknown): {
      extra: Record<string, unknown>;
      add(asset: unknown, extra?: Record<string, unknown>): void;
    };
  };
  /** Variables: `await var.value.get("k")`, `await var.json.get("k", {})` (parsed as JSON). */
  var: { value: VariableAccessor<string>; json: VariableAccessor<unknown> };
  /** Connections: `await conn.get("warehouse")`. */
  conn: ConnectionAccessor;
  /** The templates' macros: ds_add, ds_format, datetime, timedelta. */
  macros: Macros;
  [key: string]: unknown;
}

/** One asset event as a triggered run's context has it. */
export interface TriggeringAssetEvent {
  asset: { uri: string; name: string; group: string };
  uri: string;
  extra: Record<string, unknown>;
  timestamp: string;
  source_dag_id: string | null;
  source_task_id: string | null;
  source_run_id: string | null;
  source_map_index: number | null;
  source_alias_name: string | null;
}

function variables<T>(json: boolean): VariableAccessor<T> {
  return {
    get: (async (key: string, ...fallback: unknown[]) =>
      fallback.length > 0
        ? getVariable(key, { json, default: fallback[0] })
        : getVariable(key, { json })) as VariableAccessor<T>["get"],
  };
}

const connections: ConnectionAccessor = {
  get: (async (connId: string, ...fallback: unknown[]) =>
    fallback.length > 0
      ? ((await findConnection(connId)) ?? fallback[0])
      : getConnection(connId)) as ConnectionAccessor["get"],
};

/** For the TaskFlow worker: the context a task sees, from the plain values its runner sent. */
export function taskContext(values: Record<string, unknown>): TaskContext {
  return {
    ...values,
    var: { value: variables<string>(false), json: variables<unknown>(true) },
    conn: connections,
    macros: MACROS,
  } as TaskContext;
}
